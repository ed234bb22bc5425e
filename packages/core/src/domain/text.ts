import { z } from 'zod';

// C0 controls and DEL (NUL among them: Postgres text cannot hold it), and UTF-16 halves without their pair
// (they cannot be encoded as UTF-8, so a ledger would store something other than what was sent).
const UNSAFE_TEXT = /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `value` is text every ledger stores as sent: no control characters, well-formed UTF-16. */
export const isStorableText = (value: string): boolean => !UNSAFE_TEXT.test(value);

/** An id from outside (auction, post, user, cursor filter): 1–128 characters of storable text. */
export const idSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' })
  .refine(isStorableText, { error: 'must not contain control characters or unpaired surrogates' });
