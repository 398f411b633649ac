/**
 * How many characters of a text a reader of the audit actually sees as letters or digits. A positive rule: only
 * letters (`\p{L}`) and digits (`\p{N}`) count, and of those not the ones Unicode marks default-ignorable —
 * the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0 are letters that render as nothing. Blank symbols such as
 * U+2800 (braille pattern blank), spaces, punctuation, marks and format characters never count, so a reason of
 * invisible or decorative characters cannot satisfy `requireReason`.
 */
const VISIBLE_LETTER_OR_DIGIT = /[\p{L}\p{N}]/u
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u

export function visibleLetterCount(text: string): number {
  let count = 0
  for (const ch of text) {
    if (VISIBLE_LETTER_OR_DIGIT.test(ch) && !INVISIBLE.test(ch)) count += 1
  }
  return count
}
