// Build: compile TypeScript, copy the Redis Lua scripts (and .mjs helpers) next to the compiled code, inline
// zod and ioredis into the two modules that wrap them, write the oclif manifest (committed, so a fresh
// checkout starts fast).
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

// Every `wbc` run validates its config with zod and most reach Redis: loaded as packages they are ~150
// modules (zod's entry points load all its locales), which cost a status probe about as much again as
// `wbc --version` (BENCHMARKS.md, start-up). Each wrapper is replaced by one module holding what it uses.
const {build} = await import('esbuild')
for (const [module, needsRequire] of [['core/config/zod-core.js', false], ['core/ipc/redis/ioredis.js', true]]) {
  const file = join(root, 'dist', module)
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    // ioredis is CommonJS: its require() of Node's own modules needs a require in an ES module.
    banner: needsRequire ? {js: "import {createRequire as wbcCreateRequire} from 'node:module'; const require = wbcCreateRequire(import.meta.url);"} : {},
  })
  rmSync(`${file}.map`, {force: true}) // tsc's map describes the wrapper, not the bundle.
}

const oclifBin = join(dirname(require.resolve('oclif/package.json')), 'bin', 'run.js')
if (existsSync(oclifBin)) run(oclifBin, ['manifest'])
