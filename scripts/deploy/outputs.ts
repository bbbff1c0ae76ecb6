/** Deployment outputs arrive as { name: { type, value } }; print one "name: value" line each. */
export function formatOutputs(outputs: unknown): string[] {
  if (typeof outputs !== 'object' || outputs === null) return ['Outputs: (none)']
  const entries = Object.entries(outputs as Record<string, { value?: unknown }>)
  if (entries.length === 0) return ['Outputs: (none)']
  return [
    'Outputs:',
    ...entries.map(([name, output]) => {
      const value = output?.value
      return `  ${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`
    }),
  ]
}
