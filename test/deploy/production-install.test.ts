import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { customer, testDatabase, usingPostgres } from '../helpers/context.ts'
import { freePort } from '../helpers/server.ts'

// What the Dockerfile does, minus Docker: the same files, a production-only install, and the
// service started from them on Node 24 against PostgreSQL. If the runtime image would miss a
// dependency or a file, this fails.
const imageFiles = ['package.json', 'package-lock.json', 'src', 'views', 'migrations', 'public']

describe.skipIf(!usingPostgres)('the production install (PostgreSQL)', () => {
  let dir: string
  let server: ChildProcess | undefined
  let drop: () => Promise<void>
  let base: string

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'order-image-'))
    for (const f of imageFiles) {
      cpSync(f, path.join(dir, f), { recursive: true })
    }
    execFileSync(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    )
    const db = await testDatabase()
    drop = db.drop
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    // The arguments the container's CMD gives node (the distroless entrypoint), flags included.
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1]
    if (!cmd) throw new Error('no exec-form CMD in the Dockerfile')
    server = spawn(process.execPath, JSON.parse(cmd) as string[], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        ...db.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }, 180_000)

  afterAll(async () => {
    server?.kill('SIGTERM')
    await new Promise((r) => server?.once('exit', r))
    await drop?.()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('has no development tooling in node_modules', () => {
    for (const dev of [
      'vitest',
      'typescript',
      '@biomejs/biome',
      'node',
      'playwright-core',
      'autocannon',
    ]) {
      expect(existsSync(path.join(dir, 'node_modules', dev)), dev).toBe(false)
    }
    // The command-line tools (deploy, bulk loader, scale bench) live in scripts/, not in src/.
    expect(existsSync(path.join(dir, 'src/deploy'))).toBe(false)
    expect(existsSync(path.join(dir, 'scripts'))).toBe(false)
  })

  it('starts on Node 24, becomes ready and takes an order', async () => {
    expect(process.versions.node.split('.')[0]).toBe('24')
    let ready = 0
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = await fetch(`${base}/readyz`).then(
        (r) => r.status,
        () => 0,
      )
      if (ready !== 200) await new Promise((r) => setTimeout(r, 200))
    }
    expect(ready).toBe(200)

    const res = await fetch(`${base}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer }),
    })
    expect(res.status).toBe(201)
    const { orderNumber } = (await res.json()) as { orderNumber: string }
    const page = await fetch(`${base}/orders/${orderNumber}`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Most popular in Texas')
    const css = await fetch(`${base}/public/css/site.css`)
    expect(css.status).toBe(200)
  }, 60_000)
})
