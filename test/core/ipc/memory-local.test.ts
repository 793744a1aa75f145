import {IpcClient} from '../../../src/core/ipc/client.js'
import {LocalChannel} from '../../../src/core/ipc/memory/channels.js'
import {MemoryDriver} from '../../../src/core/ipc/memory/driver.js'
import {MemoryPrimary} from '../../../src/core/ipc/memory/primary.js'
import {ipcContract} from './contract.js'

// Two clients of one primary in this process stand for two parts of one application.
ipcContract('memory, in-process', async () => {
  const primary = new MemoryPrimary()
  const client = () => new IpcClient(new MemoryDriver(new LocalChannel(primary), 2000))
  return {ipc: client(), peer: client(), inProcess: true, cleanup: async () => primary.close()}
})
