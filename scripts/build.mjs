// Build: compile TypeScript, copy the Redis Lua scripts (and .mjs helpers) next to the compiled code, write the
// oclif manifest (committed, so a fresh checkout starts fast).
import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, readdirSync, rmSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
// OCLIF_SKIP_NEW_VERSION_CHECK: the oclif tool itself (a devDependency) would otherwise print "update
// available" notices during every install and build.
const run = (script, args) =>
  execFileSync(process.execPath, [script, ...args], {cwd: root, stdio: 'inherit', env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'}})

rmSync(join(root, 'dist'), {recursive: true, force: true})
run(require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.build.json'])

function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) copyAssets(path)
    else if (name.endsWith('.lua') || name.endsWith('.mjs')) cpSync(path, join(root, 'dist', relative(join(root, 'src'), path)))
  }
}
copyAssets(join(root, 'src'))

const oclifBin = join(dirname(require.resolve('oclif/package.json')), 'bin', 'run.js')
if (existsSync(oclifBin)) run(oclifBin, ['manifest'])
