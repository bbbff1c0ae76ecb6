import type { RateLimitOptions } from '@fastify/rate-limit'
import { tooManyRequests } from '../plugins/security.ts'

/**
 * The order routes' rate limit, declared at each route (`config: { rateLimit }`): the group
 * gives POST /orders and POST /api/orders one budget per client address (RATE_LIMIT_MAX a
 * minute, security.ts), and a refusal says "Too many orders ..." with the wait.
 */
export const orderRateLimit = {
  groupId: 'orders',
  errorResponseBuilder: tooManyRequests('orders'),
} satisfies RateLimitOptions
