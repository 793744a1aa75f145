import {describe, expect, it} from 'vitest'

import {isSecretName, maskSecrets, maskText, redact, redactValue, secretsOf} from '../../../src/core/config/mask.js'

const PEM = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkq\n-----END ENCRYPTED PRIVATE KEY-----'

describe('the one masking rule', () => {
  it('knows secret names, and only those: keepKey, primaryKey and prefix are not secrets', () => {
    for (const name of [
      'password',
      'PASSWORD',
      'pass',
      'pwd',
      'passwd',
      'passphrase',
      'secret',
      'clientSecret',
      'token',
      'authToken',
      'auth',
      'key',
      'sslkey',
      'ssl_key',
      'privateKey',
      'apiKey',
      'sentinelPassword',
      'password1',
      'passwordSha1',
      'sslpassword',
      'pfx',
      'pem',
      'credentials',
    ]) {
      expect(isSecretName(name), name).toBe(true)
    }
    for (const name of ['keepKey', 'primaryKey', 'prefix', 'keyPrefix', 'user', 'username', 'host', 'cert', 'ca', 'timeField', 'authSource', 'passive', 'keys', 'sslmode']) {
      expect(isSecretName(name), name).toBe(false)
    }
  })

  it('masks a URL password with unencoded "/", "#", "@" and ":" whole', () => {
    expect(maskText('postgres://app:pa/ss#w0rd@db:5432/shop')).toBe('postgres://app:***@db:5432/shop')
    expect(maskText('postgres://app:p@ss:w/o#rd@db/shop')).toBe('postgres://app:***@db/shop')
    expect(maskText('redis://:pw@h:6379')).toBe('redis://:***@h:6379')
    expect(maskText('at redis://u:x/y@h:1 and postgres://a:b#c@d/e.')).toBe('at redis://u:***@h:1 and postgres://a:***@d/e.')
    expect(maskText('redis://h:6379/0')).toBe('redis://h:6379/0')
    expect(maskText('postgres://app@db/shop')).toBe('postgres://app@db/shop')
  })

  it('masks secret query parameters and keyword=value pairs, leaves the others', () => {
    expect(maskText('redis://h:6379/0?password=qp1&db=2')).toBe('redis://h:6379/0?password=***&db=2')
    expect(maskText('postgres://u@h/db?sslmode=require&sslkey=/k.pem&sslpassword=x&application_name=wbc')).toBe('postgres://u@h/db?sslmode=require&sslkey=***&sslpassword=***&application_name=wbc')
    for (const name of ['pass', 'pwd', 'token', 'secret', 'key', 'auth']) expect(maskText(`x://h/?${name}=v1`)).toBe(`x://h/?${name}=***`)
    expect(maskText('host=h password=pw1 user=u')).toBe('host=h password=*** user=u')
  })

  it('judges a percent-encoded parameter name as the drivers read it (ioredis and pg decode `pass%77ord` to `password`)', () => {
    const redis = 'redis://127.0.0.1:6379/?pass%77ord=Enc-R1&db=0'
    const pg = 'postgres://postgres@127.0.0.1:5432/test?%70assword=Enc-P2&sslmode=disable&Sentinel%50assword=Enc-S3'
    expect(maskText(redis)).toBe('redis://127.0.0.1:6379/?pass%77ord=***&db=0')
    expect(maskText(pg)).toBe('postgres://postgres@127.0.0.1:5432/test?%70assword=***&sslmode=disable&Sentinel%50assword=***')
    expect([...secretsOf({ipc: {redis}, connections: {default: pg}})]).toEqual(['Enc-R1', 'Enc-P2', 'Enc-S3'])
    expect(redact('auth failed for Enc-P2 / Enc-S3', secretsOf({pg}))).toBe('auth failed for *** / ***')
    expect(isSecretName('pass%77ord')).toBe(true)
    expect(isSecretName('%6beepKey')).toBe(false)
  })

  it('masks PEM blocks anywhere in a string, even cut short', () => {
    expect(maskText(`key: ${PEM} end`)).toBe('key: -----BEGIN ENCRYPTED PRIVATE KEY-----***-----END ENCRYPTED PRIVATE KEY----- end')
    expect(maskText('-----BEGIN RSA PRIVATE KEY-----\nMIIabc')).not.toContain('MIIabc')
  })

  it('masks secret-named keys at any depth of objects and arrays; leaves keepKey and primaryKey', () => {
    const config = {
      ipc: {redis: {host: 'h', password: 'p1', sentinelPassword: 'p2', tls: {key: PEM, passphrase: 'p3', cert: 'c'}}, prefix: 'wb'},
      connections: {
        pg: {client: 'pg', connection: {user: 'u', password: 12345, ssl: {key: [PEM, {pem: PEM, passphrase: 'p4'}], passphrase: 'p5'}}},
        my: {client: 'mysql2', connection: {password1: 'p6', passwordSha1: 'p7'}},
        url: 'postgres://u:p8@h/db?password=p9',
      },
      buffer: {primaryKey: 'id'},
      streams: {secret_log: {keepKey: 'user_id', maxCount: 5}},
    }
    const masked = maskSecrets(config)
    const text = JSON.stringify(masked)
    for (const secret of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', '12345', 'MIIFHDBOB']) expect(text, secret).not.toContain(secret)
    expect(masked.buffer.primaryKey).toBe('id')
    expect(masked.streams.secret_log).toEqual({keepKey: 'user_id', maxCount: 5})
    expect(masked.ipc.redis.tls.cert).toBe('c')
    expect(masked.ipc.prefix).toBe('wb')
  })

  it('collects every secret of a config, so any text showing one is scrubbed', () => {
    const secrets = secretsOf({
      a: 'postgres://app:pa/ss#w0rd@db/shop',
      b: 'redis://h/?password=q%2Fp',
      c: {tls: {passphrase: 'ph rase', key: [PEM]}, password: 777},
    })
    expect([...secrets]).toEqual(expect.arrayContaining(['pa/ss#w0rd', 'q%2Fp', 'q/p', 'ph rase', PEM, '777']))
    const text = 'failed: pa/ss#w0rd, q/p, q%2Fp, "ph rase", 777, pa%2Fss%23w0rd'
    const out = redact(text, secrets)
    for (const leak of ['pa/ss', 'w0rd', 'q/p', 'q%2Fp', 'ph rase', '777']) expect(out, leak).not.toContain(leak)
  })

  it('scrubs every string of a JSON value and keeps it valid, even for a secret with a quote', () => {
    const secrets = secretsOf({password: 'a"b\\c'})
    const value = redactValue({message: 'got a"b\\c', list: ['x a"b\\c'], n: 1}, secrets)
    expect(value).toEqual({message: 'got ***', list: ['x ***'], n: 1})
  })
})
