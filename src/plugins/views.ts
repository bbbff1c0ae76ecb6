import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import fastifyView from '@fastify/view'
import { Eta } from 'eta'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { formatCents } from '../money.ts'
import { escapeHtml } from '../text.ts'
import { backOfficeTime } from '../time.ts'
import { usStates } from '../us-states.ts'

const root = (dir: string) => fileURLToPath(new URL(`../../${dir}`, import.meta.url))

/**
 * Eta resolves and checks a template's path on every render, the layout's too (path.join,
 * path.relative, JSON.stringify: 4% of the CPU of a confirmation page). Outside development the
 * files do not move, so each resolved path is kept.
 */
function etaWithKeptPaths(options: ConstructorParameters<typeof Eta>[0]): Eta {
  const eta = new Eta(options)
  const resolve = eta.resolvePath
  if (!resolve) return eta
  const paths = new Map<string, string>()
  eta.resolvePath = function (template, options) {
    const key = `${options?.filepath ?? ''}\0${template}`
    let path = paths.get(key)
    if (path === undefined) {
      path = resolve.call(this, template, options)
      paths.set(key, path)
    }
    return path
  }
  return eta
}

/** The longest file name, in bytes, that ext4, XFS, Btrfs, APFS or NTFS holds. */
const NAME_MAX = 255
/** macOS's PATH_MAX (Linux's is 4096, root included): no file under public/ comes near it. */
const PATH_MAX = 1024

/**
 * Whether a URL path names a file no file system can hold. @fastify/static takes the
 * ENAMETOOLONG such a name gets from its spelling check for a path it could not verify and
 * answers 403, where a file that cannot exist is as missing as any other: 404. Measured as that
 * check reads the path, through decodeURI (%2F, %3A and the like stay escaped, three bytes each).
 */
function beyondFileSystem(urlPath: string): boolean {
  let path: string
  try {
    path = decodeURI(urlPath)
  } catch {
    return false // the router answers such a URL 400 (FST_ERR_BAD_URL) before any route
  }
  if (Buffer.byteLength(path) > PATH_MAX) return true
  return path.split('/').some((name) => Buffer.byteLength(name) > NAME_MAX)
}

/** What a static file under /public/ answers with outside development (see below). */
export const staticCacheControl = 'public, max-age=3600, must-revalidate'

/** Eta templates from views/ (compiled once outside development) and static files under /public/. */
export default fp(
  async (app, { config }: { config: Config }) => {
    const production = config.NODE_ENV !== 'development'
    // escapeHtml: Eta's escaping, and a NUL echoed from a form as U+FFFD, never raw (text.ts).
    const etaOptions = {
      autoEscape: true,
      escapeFunction: escapeHtml,
      autoTrim: [false, 'nl'] as [false, 'nl'],
    }
    await app.register(fastifyView, {
      engine: { eta: production ? etaWithKeptPaths(etaOptions) : new Eta(etaOptions) },
      templates: root('views'),
      production,
      defaultContext: { formatCents, usStates, backOfficeTime },
    })
    // The files' URLs carry no content hash (/public/css/site.css), so a release that changes
    // one serves it at the same address: an hour's freshness, then a revalidation that costs a
    // 304 (ETag and Last-Modified are sent), bounds how long a browser shows the old file next
    // to new pages. `immutable` would only be right for hashed URLs. Development: every request.
    const cacheControl = config.NODE_ENV === 'development' ? 'no-cache' : staticCacheControl
    // A scope of their own, so that the hook runs for the static files' route alone.
    await app.register(async (files) => {
      files.addHook('preHandler', (request, reply, done) => {
        if (beyondFileSystem(request.url.split('?')[0] ?? '')) return reply.callNotFound()
        done()
      })
      await files.register(fastifyStatic, {
        root: root('public'),
        prefix: '/public/',
        etag: true,
        lastModified: true,
        cacheControl: false,
        setHeaders: (reply) => reply.header('cache-control', cacheControl),
      })
    })
  },
  { name: 'views' },
)
