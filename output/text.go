package output

import "strings"

// MaxText bounds any string column. Strings come from AWS and are untrusted.
const MaxText = 4096

// Text makes an untrusted string safe for a STRING column: valid UTF-8
// (invalid bytes become U+FFFD) and at most MaxText bytes.
func Text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxText {
		return s
	}
	cut := MaxText
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
