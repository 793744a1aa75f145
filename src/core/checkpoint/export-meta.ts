import {open} from 'lmdb'

import {isEmptyFile, probeCheckpoint} from './checkpoint.js'

/**
 * What an exported checkpoint (`wbc checkpoint --out`) is: when it was taken, from which store and
 * prefix, and how far each database had got then — its fence row's fence and commit count (`seq`),
 * read before the export, so any flush that committed after the export shows as a higher seq.
 * Stored in the file under `{prefix}:export`, outside the ranges a checkpoint reads or rewrites.
 */
export interface ExportMeta {
  format: 1
  at: number
  prefix: string
  /** The state store it came from (address, passwords masked). */
  store: string
  /** The store's fence counter when it was taken. */
  storeFence: number
  /** Per connection: its fence row then (null when it could not be read). */
  databases: Record<string, {fence: number; seq: number} | null>
}

export const exportMetaKey = (prefix: string) => `${prefix}:export`

export async function writeExportMeta(path: string, meta: ExportMeta): Promise<void> {
  const db = open({path, compression: true})
  try {
    await db.put(exportMetaKey(meta.prefix), meta)
  } finally {
    await db.close()
  }
}

/** The export record of a checkpoint file; null for a file `wbc checkpoint --out` did not write (a live checkpoint, ODAC's). */
export async function readExportMeta(path: string, prefix: string): Promise<ExportMeta | null> {
  probeCheckpoint(path)
  if (isEmptyFile(path)) return null
  const db = open({path, compression: true, readOnly: true})
  try {
    const value = db.get(exportMetaKey(prefix)) as ExportMeta | undefined
    return value && typeof value === 'object' && value.format === 1 ? value : null
  } finally {
    await db.close()
  }
}
