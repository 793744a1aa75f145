export * from './types.js'
export {createIpc, type CreateIpcOptions} from './create.js'
export {IpcClient} from './client.js'
export {MemoryPrimary} from './memory/primary.js'
