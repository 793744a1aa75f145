/**
 * ioredis, as the rest of wbc imports it: the build inlines the package into this one module
 * (scripts/build.mjs), so a `wbc` run against Redis reads one file instead of ioredis's ~55.
 */
export {Redis, type RedisOptions} from 'ioredis'
