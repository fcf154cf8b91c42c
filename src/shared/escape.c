/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "shared/escape.h"

/* Length of the well-formed UTF-8 sequence at p (2..4), or 0. Rejects
 * overlong forms and surrogates, as the standard requires. */
static size_t utf8_sequence(const unsigned char *p, size_t left, uint32_t *cp)
{
	size_t n;
	uint32_t c;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points that can make a log line lie about itself when displayed. */
static bool display_hostile(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||     /* C1 controls */
	       (cp >= 0x200b && cp <= 0x200f) || /* zero-width, LRM/RLM */
	       (cp >= 0x2028 && cp <= 0x202e) || /* line/para separators, embeddings */
	       (cp >= 0x2066 && cp <= 0x2069) || /* isolates */
	       cp == 0xfeff;
}

size_t escape_untrusted(const char *in, size_t in_len, char *out, size_t out_size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;

#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (o + 1 < out_size)                                                              \
			out[o] = (ch);                                                             \
		o++;                                                                               \
	} while (0)

	while (i < in_len) {
		uint32_t cp;
		size_t n;

		if (p[i] == '\\') {
			PUT('\\');
			PUT('\\');
			i++;
			continue;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			PUT(p[i]);
			i++;
			continue;
		}
		n = p[i] >= 0x80 ? utf8_sequence(p + i, in_len - i, &cp) : 0;
		if (n > 0 && !display_hostile(cp)) {
			for (size_t k = 0; k < n; k++)
				PUT(p[i + k]);
			i += n;
			continue;
		}
		PUT('\\');
		PUT('x');
		PUT(hex[p[i] >> 4]);
		PUT(hex[p[i] & 0xf]);
		i++;
	}
#undef PUT
	if (out_size > 0)
		out[o < out_size ? o : out_size - 1] = '\0';
	return o;
}

char *escape_untrusted_dup(const char *in, size_t in_len)
{
	size_t size = ESCAPED_SIZE(in_len);
	char *out = malloc(size);

	if (out)
		escape_untrusted(in, in_len, out, size);
	return out;
}
