import type {
  ChangeType,
  WhatIfChange,
  WhatIfOperationResult,
  WhatIfPropertyChange,
} from '@azure/arm-resourcesdeployments'

const symbols: Record<ChangeType, string> = {
  Create: '+',
  Delete: '-',
  Modify: '~',
  Deploy: '!',
  NoChange: '=',
  Ignore: '*',
  Unsupported: '?',
}

const propertySymbols: Record<WhatIfPropertyChange['propertyChangeType'], string> = {
  Create: '+',
  Delete: '-',
  Modify: '~',
  Array: '~',
  NoEffect: 'x',
}

/** Renders a what-if result roughly the way `az deployment group what-if` does. */
export function formatWhatIf(result: WhatIfOperationResult): string[] {
  const changes = result.changes ?? []
  const counts = new Map<ChangeType, number>()
  for (const change of changes) {
    counts.set(change.changeType, (counts.get(change.changeType) ?? 0) + 1)
  }
  const summary = [...counts].map(([type, count]) => `${count} ${type}`).join(', ')
  return [
    `What-if: ${changes.length === 0 ? 'no changes' : summary}`,
    ...changes.flatMap(formatChange),
  ]
}

function formatChange(change: WhatIfChange): string[] {
  const head = `  ${symbols[change.changeType] ?? '?'} ${change.changeType.padEnd(11)} ${shortId(change.resourceId)}`
  const reason = change.unsupportedReason ? [`      ${change.unsupportedReason}`] : []
  const delta = (change.delta ?? []).flatMap((property) => formatProperty(property, 3))
  return [head, ...reason, ...delta]
}

function formatProperty(change: WhatIfPropertyChange, depth: number): string[] {
  const indent = '  '.repeat(depth)
  const line = `${indent}${propertySymbols[change.propertyChangeType] ?? '?'} ${change.path}${values(change)}`
  return [line, ...(change.children ?? []).flatMap((child) => formatProperty(child, depth + 1))]
}

function values(change: WhatIfPropertyChange): string {
  if (change.propertyChangeType === 'Modify') {
    return `: ${show(change.before)} => ${show(change.after)}`
  }
  if (change.propertyChangeType === 'Create') return `: ${show(change.after)}`
  if (change.propertyChangeType === 'Delete') return `: ${show(change.before)}`
  return ''
}

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value)
}

/** "/subscriptions/…/resourceGroups/rg/providers/Microsoft.Web/sites/app" → "Microsoft.Web/sites/app" */
function shortId(resourceId: string | undefined): string {
  if (!resourceId) return '(unknown resource)'
  const at = resourceId.lastIndexOf('/providers/')
  return at === -1 ? resourceId : resourceId.slice(at + '/providers/'.length)
}
