#!/usr/bin/env node
import {execute, settings} from '@oclif/core'

// The built CLI always runs the compiled commands, whatever NODE_ENV says (bin/dev.js runs sources).
settings.enableAutoTranspile = false

await execute({dir: import.meta.url})
