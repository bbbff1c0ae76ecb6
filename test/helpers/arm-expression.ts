/**
 * A small evaluator of ARM template expressions ("[func(arg, …)]"), enough to read what a
 * template deploys for given parameter values: which resources' `condition` holds, what an app
 * setting or a name comes to. It knows the functions below and nothing else; an expression using
 * another one (reference(), uriComponent() …) throws, so a test never reads an expression it did
 * not evaluate. resourceId(type, name, …) comes to "type/name/…" (no subscription or group), enough
 * to tell which resource an id names. Grammar and functions as in Microsoft's "Template functions"
 * reference (learn.microsoft.com/azure/azure-resource-manager/templates/template-functions):
 * string literals in single quotes ('' is a quote), integers, true/false, nested calls.
 */

export type ArmValue = string | number | boolean | null

export interface ArmScope {
  parameters: Record<string, ArmValue>
  variables: Record<string, unknown>
}

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
        args.push(this.expression())
        this.space()
        if (this.text[this.at] !== ',') break
        this.at += 1
      }
    }
    this.expect(')')
    return call(args)
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
