import {
  brotliCompressSync,
  crc32,
  gzipSync,
  type ZlibOptions,
  constants as zlibConstants,
} from 'node:zlib'
import { negotiate } from '@fastify/accept-negotiator'
import fastifyCompress from '@fastify/compress'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'

/** The content codings the service answers in, in its order of preference. */
export type Encoding = 'br' | 'gzip'
const encodings: Encoding[] = ['br', 'gzip']

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The coding an answer to this request is compressed with: the one @fastify/compress picks
     * from its `Accept-Encoding` (q-values first, then br before gzip; `*` and `x-gzip` read as
     * gzip), or undefined (none asked for, or COMPRESSION=off). For routes that send bytes they
     * compressed beforehand (KeyedPage) and must choose exactly as the plugin would.
     */
    answerEncoding(request: FastifyRequest): Encoding | undefined
  }
}

/**
 * The media types worth compressing: text the service writes (HTML, JSON and problem+json, CSV,
 * CSS, JavaScript, Prometheus' text, SVG). Not PNG, JPEG, WebP or fonts: already compressed,
 * they would only cost CPU. Not text/event-stream: an event must leave when written.
 */
export const compressible =
  /^(?:text\/(?:html|css|csv|plain|javascript)|application\/(?:json|problem\+json|javascript)|image\/svg\+xml)(?:;|$)/

// Brotli quality 2 and gzip level 3, each with a small window (64 KiB: the largest answer
// compressed in one call; 16 KiB) and gzip with a smaller hash: every compressed answer creates
// a fresh encoder, and on pages of 2-16 kB that creation and the memory it sets up are much of
// the cost (docs/benchmarks.md, "Compression"). The plugin's defaults (brotli 4, gzip 6) took
// three times the CPU for bodies 6-7% smaller; brotli 1 leaves a 2 kB confirmation page over
// half its size.
const brotliOptions = {
  params: {
    [zlibConstants.BROTLI_PARAM_QUALITY]: 2,
    [zlibConstants.BROTLI_PARAM_LGWIN]: 16,
  },
}
const gzipOptions: ZlibOptions = { level: 3, windowBits: 14, memLevel: 7 }

// The plugin's one-call compressors, with a 4 KiB output chunk: Node gives each call an output
// buffer of `chunkSize` (16 KiB by default), memory outside the JavaScript heap that V8 counts
// and collects for; per answer it cost as much as compressing a 2 kB page, and brought twice the
// full collections (docs/benchmarks.md, "Compression"). A larger output takes a few chunks.
// Streams (the CSV export, static files) keep Node's compressing streams and their chunk size.
const syncChunk = 4 * 1024
const oneCall = {
  brotliCompressSync: (body: Buffer, options: typeof brotliOptions) =>
    brotliCompressSync(body, { ...options, chunkSize: syncChunk }),
  gzipSync: (body: Buffer, options: ZlibOptions) =>
    gzipSync(body, { ...options, chunkSize: syncChunk }),
}

const gzipAlias = /\*|x-gzip/g
/** Answers under this many bytes are sent as they are (not worth a header and a CPU slice). */
const threshold = 1024

/** As @fastify/compress reads Accept-Encoding (its getEncodingHeader), for the same encodings. */
function chooseEncoding(acceptEncoding: string | undefined): Encoding | undefined {
  if (acceptEncoding === undefined) return undefined
  const header = acceptEncoding.toLowerCase().replace(gzipAlias, 'gzip')
  return (negotiate(header, encodings) as Encoding | null) ?? undefined
}

/**
 * A page that is the same for every reader but for one short string, the `key` (the order
 * form's idempotency key), held ready in each coding so that sending it compresses nothing:
 * `head` is compressed once, and each answer appends the key and `tail` uncompressed (a stored
 * deflate block for gzip, RFC 1951 3.2.4; an uncompressed meta-block for brotli, RFC 7932 9.2)
 * behind the head's flushed, byte-aligned output, then closes the stream (gzip: the CRC-32 of
 * the whole page, carried on from the head's, and its length). So keep the key near the end:
 * the tail is sent as it is. The result decodes to exactly head + key + tail.
 *
 * @param head the page before the key (UTF-8)
 * @param tail the page after the key, at most 16 KiB
 * @throws RangeError for a longer tail, or (from `bytes`) a key of more than 1 KiB
 */
export class KeyedPage {
  readonly #head: Buffer
  readonly #tail: Buffer
  readonly #headCrc: number
  readonly #gzipHead: Buffer
  readonly #brotliHead: Buffer

  constructor(head: string, tail: string) {
    this.#head = Buffer.from(head)
    this.#tail = Buffer.from(tail)
    if (this.#tail.length > 16 * 1024) throw new RangeError('KeyedPage: tail over 16 KiB')
    this.#headCrc = crc32(this.#head)
    // Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH: the stream left open (no final block, no gzip
    // trailer) and ending on a byte boundary, where a further block may start.
    this.#gzipHead = gzipSync(this.#head, {
      ...gzipOptions,
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    })
    this.#brotliHead = brotliCompressSync(this.#head, {
      ...brotliOptions,
      finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH,
    })
  }

  /** The page with `key`, in `encoding` (undefined: as it is). */
  bytes(encoding: Encoding | undefined, key: string): Buffer {
    const rest = Buffer.concat([Buffer.from(key), this.#tail])
    if (rest.length > this.#tail.length + 1024) throw new RangeError('KeyedPage: key over 1 KiB')
    if (encoding === undefined) return Buffer.concat([this.#head, rest])
    if (encoding === 'gzip') {
      // A final stored block (BFINAL 1, BTYPE 00, padded to the byte: 0x01), LEN and its
      // one's complement; then the trailer: CRC-32 and length of the whole page, little-endian.
      const block = Buffer.alloc(5)
      block[0] = 0x01
      block.writeUInt16LE(rest.length, 1)
      block.writeUInt16LE(~rest.length & 0xffff, 3)
      const trailer = Buffer.alloc(8)
      trailer.writeUInt32LE(crc32(rest, this.#headCrc), 0)
      trailer.writeUInt32LE((this.#head.length + rest.length) >>> 0, 4)
      return Buffer.concat([this.#gzipHead, block, rest, trailer])
    }
    // A meta-block header, 20 bits from the lowest: ISLAST 0, MNIBBLES 0 (four nibbles of
    // MLEN - 1), MLEN - 1, ISUNCOMPRESSED 1; zero bits to the byte. Then the last, empty
    // meta-block: ISLAST 1, ISLASTEMPTY 1 (0x03).
    // A meta-block holds at least one byte: with neither key nor tail, only the last one.
    if (rest.length === 0) return Buffer.concat([this.#brotliHead, Buffer.of(0x03)])
    const bits = ((rest.length - 1) << 3) | (1 << 19)
    const header = Buffer.of(bits & 0xff, (bits >> 8) & 0xff, bits >> 16)
    return Buffer.concat([this.#brotliHead, header, rest, Buffer.of(0x03)])
  }

  /** Sends the page with `key` in the coding `app.answerEncoding` chose for this request. */
  send(reply: FastifyReply, encoding: Encoding | undefined, key: string): FastifyReply {
    // A Content-Encoding set here tells @fastify/compress the answer is already compressed.
    if (encoding) reply.header('content-encoding', encoding).header('vary', 'accept-encoding')
    return reply.send(this.bytes(encoding, key))
  }
}

/**
 * Whether an answer the plugin leaves as it is would have been compressed for a client asking
 * for br or gzip: so it varies on Accept-Encoding, and RFC 9110 §12.5.5 has it say so (else a
 * shared cache could hand the plain bytes to everyone). The plugin marks only what it compresses.
 */
function varies(request: FastifyRequest, reply: FastifyReply, payload: unknown): boolean {
  if (payload == null || chooseEncoding(request.headers['accept-encoding'])) return false
  if (reply.hasHeader('content-encoding')) return false
  const type = reply.getHeader('content-type')
  if (typeof type !== 'string' || !compressible.test(type)) return false
  if (typeof payload === 'string') {
    // A string's UTF-8 bytes are at least its length in UTF-16 units.
    return payload.length >= threshold || Buffer.byteLength(payload) >= threshold
  }
  return !Buffer.isBuffer(payload) || payload.length >= threshold
}

/**
 * Has a HEAD route Fastify made for a GET compress as the GET does, so HEAD answers the header
 * fields GET would (RFC 9110 §9.3.2): Content-Encoding, Vary: accept-encoding and the compressed
 * Content-Length. Fastify gives such a route a last onSend hook that empties the body (keeping
 * its length), and @fastify/compress appends its own after it, which then found no body and did
 * nothing: HEAD /orders/:n said 2782 bytes, uncompressed, no Vary, where GET sent 1142 gzipped.
 * Moved behind the plugin's, the emptying hook sees the compressed body. Found by its name
 * (fastify/lib/head-route.js); test/ops/compression.test.ts fails should it change.
 */
function compressHeadLikeGet(route: RouteOptions): void {
  if (route.method !== 'HEAD' || !Array.isArray(route.onSend)) return
  const hooks = route.onSend as unknown[]
  const at = hooks.findIndex(
    (hook) => (hook as { name?: string }).name === 'headRouteOnSendHandler',
  )
  if (at === -1 || at === hooks.length - 1) return
  hooks.push(...hooks.splice(at, 1))
}

/**
 * Compresses answers of 1 KiB and more, brotli or gzip as the client's Accept-Encoding prefers;
 * smaller ones are not worth a header and a CPU slice. A buffered answer is compressed at once
 * and keeps a Content-Length; a stream (the order CSV, a static file) goes through a
 * compressing stream and stays a stream. Request bodies are not decompressed (a body arrives as
 * sent, within the body limit). With COMPRESSION=off nothing is compressed (a front end does
 * it). Register before the routes: the plugin attaches itself to each as it is added.
 */
export default fp<{ config: Pick<Config, 'COMPRESSION'> }>(
  async (app, { config }) => {
    const on = config.COMPRESSION === 'on'
    app.decorate('answerEncoding', (request: FastifyRequest) =>
      on ? chooseEncoding(request.headers['accept-encoding']) : undefined,
    )
    if (!on) return
    app.addHook('onSend', (request, reply, payload, done) => {
      if (varies(request, reply, payload)) {
        const vary = reply.getHeader('vary')
        reply.header('vary', vary ? `${String(vary)}, accept-encoding` : 'accept-encoding')
      }
      done(null, payload)
    })
    await app.register(fastifyCompress, {
      global: true,
      globalDecompression: false,
      threshold,
      encodings,
      customTypes: compressible,
      brotliOptions,
      zlibOptions: gzipOptions,
      zlib: oneCall,
      // Answers up to 64 KiB are compressed in one synchronous call. The plugin's default on 2
      // cores is 8 KiB, which sent the 15 KB order form through a compressing stream per
      // request (a brotli encoder's allocation, a pipeline, the thread pool): GET / fell from
      // thousands of requests a second to some 150 (docs/benchmarks.md, Compression).
      syncThreshold: 64 * 1024,
    })
    app.addHook('onRoute', compressHeadLikeGet)
  },
  { name: 'compression' },
)
