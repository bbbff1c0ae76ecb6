/**
 * How many orders the at-scale tests place at once (test/outbox/placed-at-scale.test.ts,
 * test/webhooks/delivered-at-scale.test.ts): 10,000 with SCALE=1, as issue 16 asks; 1,000 by
 * default, which still sends them through the order batcher in many group commits (ORDER_BATCH_MAX
 * 64) and every delivery through the dispatcher's batches, so exactly-once and each-delivered are
 * still proven, in a tenth of the CI time.
 */
export const scaleOrders = process.env.SCALE === '1' ? 10_000 : 1_000
