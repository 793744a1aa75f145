/** Benchmark suite entry point. The scenarios arrive with the engine; until then it says so. */
console.log('wbc bench: no scenarios yet (they measure the write-behind engine, which is not built yet).')
