/**
 * A small evaluator of ARM template expressions ("[func(arg, …)]"), enough to read what a
 * template deploys for given parameter values: which resources' `condition` holds, what an app
 * setting or a name comes to. It knows the functions below and nothing else; an expression using
 * another one throws, and so does reference() unless the scope answers it, so a test never reads
 * an expression it did not evaluate. resourceId(type, name, …) comes to "type/name/…" (no
 * subscription or group), enough to tell which resource an id names. Grammar and functions as in
 * Microsoft's "Template functions" reference
 * (learn.microsoft.com/azure/azure-resource-manager/templates/template-functions): string
 * literals in single quotes ('' is a quote), integers, true/false, nested calls, property access
 * (`reference(…).clientId`, `environment().suffixes.keyvaultDns`); if() evaluates only the branch
 * its condition picks, as ARM does. Stand-ins, not Azure's values:
 * uniqueString() is 13 characters of a SHA-256 (Azure's own hash differs; its shape, 13 lowercase
 * letters and digits, is the same), resourceGroup() and subscription() are fixed, and
 * environment() is Azure's public cloud.
 */

import { createHash } from 'node:crypto'

export type ArmValue = string | number | boolean | null | ArmObject
export interface ArmObject {
  [key: string]: ArmValue
}

export interface ArmScope {
  parameters: Record<string, ArmValue>
  variables: Record<string, unknown>
  /** What reference(id, apiVersion) answers: the resource's runtime properties. */
  reference?: (id: string) => ArmObject
}

/** The stand-in resource group and subscription of every evaluation. */
export const armResourceGroup = {
  id: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-orders',
  name: 'rg-orders',
  location: 'westeurope',
}
export const armTenantId = '00000000-0000-4000-8000-00000000000a'

type Call = (args: ArmValue[]) => ArmValue

function functionsOf(scope: ArmScope): Record<string, Call> {
  return {
    parameters: ([name]) => {
      const value = scope.parameters[String(name)]
      if (value === undefined) throw new Error(`no parameter ${String(name)}`)
      return value
    },
    variables: ([name]) => {
      const value = scope.variables[String(name)]
      if (value === undefined) throw new Error(`no variable ${String(name)}`)
      return evaluate(value, scope)
    },
    equals: ([a, b]) => a === b,
    not: ([a]) => !a,
    and: (args) => args.every(Boolean),
    or: (args) => args.some(Boolean),
    empty: ([a]) => a === '' || a === null,
    if: ([condition, whenTrue, whenFalse]) =>
      condition ? (whenTrue ?? null) : (whenFalse ?? null),
    string: ([a]) => String(a),
    resourceId: ([type, ...names]) => [type, ...names].join('/'),
    uriComponent: ([a]) => encodeURIComponent(String(a)),
    uniqueString: (args) =>
      Array.from(createHash('sha256').update(args.join('-')).digest())
        .slice(0, 13)
        .map((byte) => 'abcdefghijklmnopqrstuvwxyz234567'[byte % 32])
        .join(''),
    resourceGroup: () => ({ ...armResourceGroup }),
    subscription: () => ({ tenantId: armTenantId }),
    environment: () => ({ name: 'AzureCloud', suffixes: { keyvaultDns: '.vault.azure.net' } }),
    reference: ([id]) => {
      if (!scope.reference) throw new Error(`reference(${String(id)}) is not answered here`)
      return scope.reference(String(id))
    },
    format: ([template, ...args]) =>
      String(template).replace(/\{(\d+)\}/g, (_m, i: string) => String(args[Number(i)])),
  }
}

/** A template value: an expression string is evaluated, anything else returned as it is. */
export function evaluate(value: unknown, scope: ArmScope): ArmValue {
  if (typeof value !== 'string' || !/^\[[^[]/.test(value) || !value.endsWith(']')) {
    return value as ArmValue
  }
  const parser = new Parser(value.slice(1, -1), functionsOf(scope))
  const result = parser.expression()
  parser.end()
  return result
}

class Parser {
  private at = 0
  /** Parsing a branch if() does not take: read, never evaluated (ARM evaluates only the other). */
  private skipping = false
  private readonly text: string
  private readonly functions: Record<string, Call>

  constructor(text: string, functions: Record<string, Call>) {
    this.text = text
    this.functions = functions
  }

  expression(): ArmValue {
    this.space()
    const c = this.text[this.at]
    if (c === "'") return this.literal()
    const number = /^-?\d+/.exec(this.text.slice(this.at))
    if (number) {
      this.at += number[0].length
      return Number(number[0])
    }
    const name = /^[A-Za-z_][\w]*/.exec(this.text.slice(this.at))?.[0]
    if (!name) throw new Error(`unexpected ${c ?? 'end'} at ${this.at} in ${this.text}`)
    this.at += name.length
    if (name === 'true' || name === 'false') return name === 'true'
    const call = this.functions[name]
    if (!call) throw new Error(`function ${name}() is not known to this evaluator`)
    this.expect('(')
    const args: ArmValue[] = []
    this.space()
    if (this.text[this.at] !== ')') {
      for (;;) {
        // if(condition, whenTrue, whenFalse): only the branch the condition picks is evaluated.
        const skipped = name === 'if' && args.length > 0 && Boolean(args[0]) !== (args.length === 1)
        const outer = this.skipping
        this.skipping = outer || skipped
        args.push(this.expression())
        this.skipping = outer
        this.space()
        if (this.text[this.at] !== ',') break
        this.at += 1
      }
    }
    this.expect(')')
    let value = this.skipping ? null : call(args)
    // Property access: .name after a call, as often as it comes.
    for (;;) {
      const property = /^\.([A-Za-z_]\w*)/.exec(this.text.slice(this.at))
      if (!property?.[1]) return value
      this.at += property[0].length
      if (this.skipping) continue
      if (value === null || typeof value !== 'object' || !(property[1] in value)) {
        throw new Error(`no property ${property[1]} in ${this.text}`)
      }
      value = value[property[1]] ?? null
    }
  }

  end(): void {
    this.space()
    if (this.at !== this.text.length) throw new Error(`trailing text in ${this.text}`)
  }

  private literal(): string {
    let out = ''
    this.at += 1
    for (;;) {
      const c = this.text[this.at]
      if (c === undefined) throw new Error(`unterminated string in ${this.text}`)
      this.at += 1
      if (c !== "'") out += c
      else if (this.text[this.at] === "'") {
        out += "'"
        this.at += 1
      } else return out
    }
  }

  private expect(c: string): void {
    this.space()
    if (this.text[this.at] !== c) throw new Error(`expected ${c} at ${this.at} in ${this.text}`)
    this.at += 1
  }

  private space(): void {
    while (this.text[this.at] === ' ') this.at += 1
  }
}
