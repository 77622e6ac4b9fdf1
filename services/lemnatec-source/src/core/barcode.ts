/**
 * Danforth barcodes (`Fp001AB006772`): fixed slices looked up in the
 * experiment metadata's `sample.barcode.{species,genotypes,treatments}`:
 * species = [0:2], genotype = [0:5], treatment = [5:7], sample id = [7:].
 * A code missing from the tables (or a barcode too short) leaves that field
 * out and names it in `missing`: the snapshot is sent with what decodes.
 */
export interface DecodedBarcode {
  species?: string;
  genotype?: string;
  treatment?: string;
  sample_id?: string;
  /** The fields that could not be decoded (empty when all did). */
  missing: Array<'species' | 'genotype' | 'treatment' | 'sample_id'>;
}

type Tables = { species?: Record<string, unknown>; genotypes?: Record<string, unknown>; treatments?: Record<string, unknown> };

export function barcodeTables(experiment: Readonly<Record<string, unknown>>): Tables {
  const sample = experiment['sample'];
  const barcode = sample && typeof sample === 'object' ? (sample as Record<string, unknown>)['barcode'] : undefined;
  return barcode && typeof barcode === 'object' ? (barcode as Tables) : {};
}

export function decodeBarcode(barcode: string | null, tables: Tables): DecodedBarcode {
  const out: DecodedBarcode = { missing: [] };
  const code = barcode ?? '';
  const look = (table: Record<string, unknown> | undefined, key: string): string | undefined => {
    const v = table && key.length > 0 && Object.hasOwn(table, key) ? table[key] : undefined;
    return typeof v === 'string' ? v : undefined;
  };
  const species = code.length >= 2 ? look(tables.species, code.slice(0, 2)) : undefined;
  const genotype = code.length >= 5 ? look(tables.genotypes, code.slice(0, 5)) : undefined;
  const treatment = code.length >= 7 ? look(tables.treatments, code.slice(5, 7)) : undefined;
  const sampleId = code.length > 7 ? code.slice(7) : undefined;
  if (species !== undefined) out.species = species; else out.missing.push('species');
  if (genotype !== undefined) out.genotype = genotype; else out.missing.push('genotype');
  if (treatment !== undefined) out.treatment = treatment; else out.missing.push('treatment');
  if (sampleId !== undefined) out.sample_id = sampleId; else out.missing.push('sample_id');
  return out;
}
