/** The seed catalogue: inserted on start when missing, never overwriting stock or price. */
export interface CatalogueEntry {
  sku: string
  name: string
  description: string
  priceCents: number
  stock: number
}

export const catalogue: CatalogueEntry[] = [
  {
    sku: 'MUG-001',
    name: 'Enamel Camp Mug',
    description: 'A 12 oz steel mug with a speckled enamel coat.',
    priceCents: 1800,
    stock: 100_000,
  },
  {
    sku: 'TEE-002',
    name: 'Organic Cotton Tee',
    description: 'Heavyweight organic cotton, cut for every day.',
    priceCents: 2900,
    stock: 100_000,
  },
  {
    sku: 'CAP-003',
    name: 'Waxed Canvas Cap',
    description: 'Six-panel cap in waxed canvas that shrugs off rain.',
    priceCents: 3400,
    stock: 100_000,
  },
  {
    sku: 'BAG-004',
    name: 'Rolltop Backpack',
    description: 'A 24 litre waterproof rolltop for city and trail.',
    priceCents: 12900,
    stock: 100_000,
  },
  {
    sku: 'BTL-005',
    name: 'Insulated Bottle',
    description: 'Keeps drinks cold for a day and hot for twelve hours.',
    priceCents: 3500,
    stock: 100_000,
  },
  {
    sku: 'LMP-006',
    name: 'Lantern',
    description: 'A rechargeable LED lantern with a warm dimmable glow.',
    priceCents: 4900,
    stock: 100_000,
  },
  {
    sku: 'BLK-007',
    name: 'Wool Blanket',
    description: 'Dense merino wool blanket woven in Vermont.',
    priceCents: 15900,
    stock: 100_000,
  },
  {
    sku: 'KNF-008',
    name: 'Folding Knife',
    description: 'A slim folding knife with a walnut handle.',
    priceCents: 6900,
    stock: 100_000,
  },
  {
    sku: 'NTB-009',
    name: 'Field Notebook',
    description: 'Three pocket notebooks with dot-grid pages.',
    priceCents: 1200,
    stock: 100_000,
  },
  {
    sku: 'SCK-010',
    name: 'Hiking Socks',
    description: 'Cushioned merino socks that last for miles.',
    priceCents: 2200,
    stock: 100_000,
  },
  {
    sku: 'HMK-011',
    name: 'Travel Hammock',
    description: 'Parachute nylon hammock with tree straps.',
    priceCents: 7900,
    stock: 100_000,
  },
  {
    sku: 'PRS-012',
    name: 'Coffee Press',
    description: 'Double-walled steel press for four cups.',
    priceCents: 5400,
    stock: 100_000,
  },
  {
    sku: 'GLV-013',
    name: 'Leather Work Gloves',
    description: 'Goatskin gloves that break in, not down.',
    priceCents: 3900,
    stock: 100_000,
  },
  {
    sku: 'CHR-014',
    name: 'Camp Chair',
    description: 'A packable chair that sets up in a minute.',
    priceCents: 8900,
    stock: 100_000,
  },
]

export const imagePath = (sku: string): string => `/public/images/${sku.toLowerCase()}.svg`
