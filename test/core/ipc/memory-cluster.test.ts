import {fork, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {connectIpc} from '../../support/ipc-rpc.js'
import {ipcContract} from './contract.js'

const fixture = join(import.meta.dirname, '..', '..', 'fixtures', 'cluster-host.ts')

/** Starts a cluster application whose two workers each expose their Ipc to this test. */
async function startCluster(): Promise<{host: ChildProcess; paths: string[]}> {
  const dir = mkdtempSync(join(tmpdir(), 'wbc-cluster-'))
  const paths = [join(dir, 'w1.sock'), join(dir, 'w2.sock')]
  const host = fork(fixture, [], {execArgv: ['--import', 'tsx'], env: {...process.env, RPC_PATHS: paths.join(',')}, stdio: 'inherit'})
  await new Promise<void>((resolve, reject) => {
    host.once('message', () => resolve())
    host.once('exit', (code) => reject(new Error(`cluster host exited with ${code}`)))
  })
  return {host, paths}
}

ipcContract('memory, from cluster workers', async () => {
  const {host, paths} = await startCluster()
  const ipc = await connectIpc(paths[0])
  const peer = await connectIpc(paths[1])
  return {
    ipc,
    peer,
    inProcess: false,
    cleanup: async () => {
      host.disconnect()
    },
  }
})
