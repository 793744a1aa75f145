export * from './core/errors.js'
export * from './core/config/index.js'
export * from './core/ipc/index.js'
