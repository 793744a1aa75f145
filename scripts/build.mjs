// Build: compile TypeScript, copy the Redis Lua scripts (and .mjs helpers) next to the compiled code, inline
// zod and ioredis into the two modules that wrap them, write the oclif manifest (committed, so a fresh
// checkout starts fast).
import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
// OCLIF_SKIP_NEW_VERSION_CHECK: the oclif tool itself (a devDependency) would otherwise print "update
// available" notices during every install and build.
const run = (script, args) => execFileSync(process.execPath, [script, ...args], {cwd: root, stdio: 'inherit', env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'}})

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
// The inlined packages' licences travel with them (dist/THIRD-PARTY-LICENSES.txt).
const inlined = new Map()
for (const [module, needsRequire] of [
  ['core/config/zod-core.js', false],
  ['core/ipc/redis/ioredis.js', true],
]) {
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
    metafile: true,
  }).then((result) => {
    for (const input of Object.keys(result.metafile.inputs)) {
      // The package a file belongs to is under its last node_modules/ (nested copies are their own).
      const at = input.lastIndexOf('node_modules/')
      const name = at < 0 ? null : /^((?:@[^/]+\/)?[^/]+)\//.exec(input.slice(at + 'node_modules/'.length))?.[1]
      if (name) inlined.set(`${input.slice(0, at)}node_modules/${name}`, name)
    }
  })
  rmSync(`${file}.map`, {force: true}) // tsc's map describes the wrapper, not the bundle.
}

const notices = [...inlined]
  .sort(([, a], [, b]) => a.localeCompare(b))
  .map(([path, name]) => {
    const dir = join(root, path)
    const license = readdirSync(dir).find((file) => /^licen[cs]e/i.test(file))
    const {version} = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    return `${name} ${version}\n\n${license ? readFileSync(join(dir, license), 'utf8').trim() : '(no licence file in the package)'}\n`
  })
writeFileSync(join(root, 'dist', 'THIRD-PARTY-LICENSES.txt'), `Packages inlined into dist/ by the build, with their licences.\n\n${notices.join('\n----\n\n')}`)

const oclifBin = join(dirname(require.resolve('oclif/package.json')), 'bin', 'run.js')
if (existsSync(oclifBin)) run(oclifBin, ['manifest'])
