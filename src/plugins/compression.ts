import { constants as zlibConstants } from 'node:zlib'
import fastifyCompress from '@fastify/compress'
import fp from 'fastify-plugin'

/**
 * The media types worth compressing: text the service writes (HTML, JSON and problem+json, CSV,
 * CSS, JavaScript, Prometheus' text, SVG). Not PNG, JPEG, WebP or fonts: already compressed,
 * they would only cost CPU. Not text/event-stream: an event must leave when written.
 */
export const compressible =
  /^(?:text\/(?:html|css|csv|plain|javascript)|application\/(?:json|problem\+json|javascript)|image\/svg\+xml)(?:;|$)/

/**
 * Compresses answers of 1 KiB and more, brotli (quality 2) or gzip (level 3) as the client's
 * Accept-Encoding prefers; smaller ones are not worth a header and a CPU slice. A buffered answer is compressed at once and keeps a Content-Length;
 * a stream (the order CSV, a static file) goes through a compressing stream and stays a stream.
 * Request bodies are not decompressed (a body arrives as sent, within the body limit). Register
 * before the routes: the plugin attaches itself to each as it is added.
 */
export default fp(
  async (app) => {
    await app.register(fastifyCompress, {
      global: true,
      globalDecompression: false,
      threshold: 1024,
      encodings: ['br', 'gzip'],
      customTypes: compressible,
      // Below the plugin's defaults (brotli 4, gzip 6): on a 13 KB order form, brotli 2 and
      // gzip 3 took a third of the CPU for bodies 6-7% larger (docs/benchmarks.md, Compression).
      brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 2 } },
      zlibOptions: { level: 3 },
      // Answers up to 64 KiB are compressed in one synchronous call. The plugin's default on 2
      // cores is 8 KiB, which sent the 15 KB order form through a compressing stream per
      // request (a brotli encoder's allocation, a pipeline, the thread pool): GET / fell from
      // thousands of requests a second to some 150 (docs/benchmarks.md, Compression).
      syncThreshold: 64 * 1024,
    })
  },
  { name: 'compression' },
)
