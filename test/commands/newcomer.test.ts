import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

const root = join(import.meta.dirname, '..', '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

describe('the newcomer path', () => {
  it('the README says how to run wbc from an application and what a native build needs', () => {
    const readme = read('README.md')
    expect(readme).toContain('### In your application')
    expect(readme).toMatch(/cd \/srv\/app && npm install \/path\/to\/wbc\/wbc-0\.1\.0\.tgz/)
    expect(readme).toContain('npx wbc status')
    expect(readme).toContain('npm install --global')
    expect(readme).toMatch(/better-sqlite3 and lmdb download a prebuilt binary/)
    expect(readme).toMatch(/Python 3, `make` and a C\/C\+\+ compiler/)
  })

  it('installs and builds with no "update available" notice: npm\'s is off, oclif\'s update-check plugin is not used', () => {
    const npmrc = read('.npmrc')
      .split('\n')
      .map((line) => line.trim())
    expect(npmrc).toContain('update-notifier=false')
    const pkg = JSON.parse(read('package.json'))
    expect(pkg.oclif.plugins).not.toContain('@oclif/plugin-warn-if-update-available')
    expect(Object.keys(pkg.dependencies)).not.toContain('@oclif/plugin-warn-if-update-available')
    // The oclif tool (a devDependency, writing the manifest during the build) checks for updates unless told not to.
    expect(read('scripts/build.mjs')).toContain("OCLIF_SKIP_NEW_VERSION_CHECK: 'true'")
  })

  it('prints no update notice even when a newer version is known to the cache', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wbc-home-'))
    mkdirSync(join(home, 'wbc'), {recursive: true})
    writeFileSync(join(home, 'wbc', 'version'), JSON.stringify({'dist-tags': {latest: '99.0.0'}, current: '0.1.0'}))
    const {code, stdout, stderr} = await runCli(['--version'], {cwd: home, env: {HOME: home, XDG_CACHE_HOME: home}})
    expect(code).toBe(0)
    expect(stdout).toMatch(/^wbc\/0\.1\.0 /)
    expect(stderr).toBe('')
  })
})
