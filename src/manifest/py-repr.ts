/** Python's `repr()` of a str, for messages that must read as quilt3's do. */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    out += reprChar(ch, quote);
  }
  return out + quote;
}

function reprChar(ch: string, quote: string): string {
  if (ch === quote || ch === "\\") return "\\" + ch;
  if (ch === "\n") return "\\n";
  if (ch === "\r") return "\\r";
  if (ch === "\t") return "\\t";
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f) return "\\x" + cp.toString(16).padStart(2, "0");
  // Python prints other non-printable code points escaped too; lone surrogates are the ones
  // that matter here, since the rest of Unicode's printable set is shown as is.
  if (cp >= 0xd800 && cp <= 0xdfff) return "\\u" + cp.toString(16).padStart(4, "0");
  return ch;
}
