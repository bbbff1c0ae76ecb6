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
 * Compresses answers of 1 KiB and more, brotli (quality 4, the plugin's default: near gzip's
 * speed, smaller) or gzip as the client's Accept-Encoding prefers; smaller ones are not worth a
 * header and a CPU slice. A buffered answer is compressed at once and keeps a Content-Length;
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
    })
  },
  { name: 'compression' },
)
