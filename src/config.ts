import envSchema from 'env-schema'
import { type Static, Type } from 'typebox'

const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union(
    [Type.Literal('development'), Type.Literal('production'), Type.Literal('test')],
    {
      default: 'development',
    },
  ),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 10 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  FOLD_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 200 }),
  TOP_PRODUCTS_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 500 }),
})

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

/** Reads and validates the environment; a bad value throws a one-line ConfigError naming it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  try {
    return envSchema<Config>({ schema: ConfigSchema, data: env })
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message.replaceAll('\n', ' ')}`)
  }
}
