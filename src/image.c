/* Framing of CRIU images: magic header, size-prefixed entries, payloads. */
#include "image.h"

#include <inttypes.h>
#include <string.h>

#include "wire.h"

int image_read_header(const uint8_t *data, size_t len, const char *filename,
		      struct image_header *h, struct crit_error *err)
{
	const struct image_type *raw = schema_raw_by_filename(filename);
	uint32_t first, second;

	memset(h, 0, sizeof(*h));
	err->entry = -1;
	err->offset = 0;
	if (raw) {
		h->type = raw;
		return 0;
	}
	if (len < 4)
		return crit_fail(err, len ? "truncated magic (%zu bytes)" : "empty file", len);
	first = wire_le32(data);
	h->first_magic = first;
	if (first == MAGIC_IMG_COMMON || first == MAGIC_IMG_SERVICE) {
		if (len < 8)
			return crit_fail(err, "truncated magic: 0x%08" PRIx32 " and no image magic",
					 first);
		second = wire_le32(data + 4);
		h->type = schema_by_magic(second);
		h->header_len = 8;
		if (!h->type) {
			err->offset = 4;
			return crit_fail(err, "unknown magic 0x%08" PRIx32, second);
		}
		return 0;
	}
	/* v1.0 images and inventory carry the image magic alone. */
	h->type = schema_by_magic(first);
	h->header_len = 4;
	if (!h->type)
		return crit_fail(err,
				 "unknown magic 0x%08" PRIx32
				 " (a raw image, like pages-N.img, has no magic)",
				 first);
	return 0;
}

void image_cursor_init(struct image_cursor *c, const struct image_header *h,
		       const uint8_t *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->h = h;
	c->data = data;
	c->len = len;
	c->pos = h->header_len;
}

/* Hostile sizes must not wrap: every result saturates at UINT64_MAX,
 * which is then refused as larger than the file. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t round_up(uint64_t x, uint64_t to)
{
	return x > UINT64_MAX - to ? UINT64_MAX : (x + to - 1) / to * to;
}

static uint64_t field_or_zero(const uint8_t *msg, size_t len, uint32_t number)
{
	uint64_t v = 0;

	wire_find_varint(msg, len, number, &v);
	return v;
}

/* The messages of an IPC queue: qnum x (u32 size, ipc_msg, data padded to 8). */
static int ipc_msg_payload_len(uint64_t qnum, const uint8_t *rest, size_t rest_len,
			       uint64_t *out, struct crit_error *err)
{
	uint64_t pos = 0, i;

	for (i = 0; i < qnum; i++) {
		uint32_t size;
		uint64_t msize;

		if (rest_len - pos < 4)
			return crit_fail(err, "message %" PRIu64 " of %" PRIu64
					      " of the queue: truncated size", i + 1, qnum);
		size = wire_le32(rest + pos);
		pos += 4;
		if (size > rest_len - pos)
			return crit_fail(err, "message %" PRIu64 ": size %" PRIu32
					      " past the end of the file", i + 1, size);
		msize = field_or_zero(rest + pos, size, 2);
		pos += size;
		if (round_up(msize, 8) > rest_len - pos)
			return crit_fail(err, "message %" PRIu64 ": %" PRIu64
					      " bytes of data past the end of the file", i + 1, msize);
		pos += round_up(msize, 8);
	}
	*out = pos;
	return 0;
}

int image_payload_len(const struct image_type *t, size_t index, int chunked,
		      const uint8_t *msg, size_t msg_len, const uint8_t *rest,
		      size_t rest_len, uint64_t *payload_len, struct crit_error *err)
{
	uint64_t n = 0;

	switch (schema_entry_payload(t, index, chunked)) {
	case PAYLOAD_NONE:
		break;
	case PAYLOAD_PIPE:
	case PAYLOAD_SK_QUEUE:
		n = field_or_zero(msg, msg_len, 2); /* bytes, length */
		break;
	case PAYLOAD_TCP:
		n = sat_add(field_or_zero(msg, msg_len, 1), field_or_zero(msg, msg_len, 3));
		break;
	case PAYLOAD_BPFMAP:
		n = sat_add(field_or_zero(msg, msg_len, 2), field_or_zero(msg, msg_len, 3));
		break;
	case PAYLOAD_IPC_SHM:
		if (!field_or_zero(msg, msg_len, 3)) /* in_pagemaps: data is in pages */
			n = round_up(field_or_zero(msg, msg_len, 2), 4);
		break;
	case PAYLOAD_IPC_SEM:
		n = field_or_zero(msg, msg_len, 2);
		n = round_up(n > UINT64_MAX / 2 ? UINT64_MAX : n * 2, 8);
		break;
	case PAYLOAD_IPC_MSG:
		if (ipc_msg_payload_len(field_or_zero(msg, msg_len, 3), rest, rest_len, &n, err))
			return -1;
		break;
	case PAYLOAD_GHOST:
		n = rest_len;
		break;
	case PAYLOAD_GHOST_CHUNK:
		n = field_or_zero(msg, msg_len, 1); /* len */
		break;
	}
	if (n > rest_len)
		return crit_fail(err, "payload of %" PRIu64 " bytes past the end of the file (%zu left)",
				 n, rest_len);
	*payload_len = n;
	return 0;
}

int image_cursor_next(struct image_cursor *c, struct entry_loc *loc, struct crit_error *err)
{
	const struct image_type *t = c->h->type;
	uint64_t left = c->len - c->pos;
	const uint8_t *msg;
	uint32_t size;

	if (t->layout == LAYOUT_RAW || left == 0)
		return 0;
	err->entry = (long)c->index;
	err->offset = c->pos;
	if (left < 4)
		return crit_fail(err, "truncated entry size (%" PRIu64 " bytes left)", left);
	/* Walking a large image is bound by memory latency, each size
	 * depending on the one before: ask for the bytes ahead early. */
	if (left > 1024)
		__builtin_prefetch(c->data + c->pos + 1024);
	size = wire_le32(c->data + c->pos);
	if (size > left - 4)
		return crit_fail(err, "entry size %" PRIu32 " past the end of the file (%" PRIu64
				      " bytes left)", size, left - 4);
	msg = c->data + c->pos + 4;
	if (t->layout == LAYOUT_GHOST && c->index == 0)
		c->chunked = field_or_zero(msg, size, 9) != 0;
	loc->start = c->pos;
	loc->msg_len = size;
	if (image_payload_len(t, c->index, c->chunked, msg, size, msg + size,
			      (size_t)(left - 4 - size), &loc->payload_len, err))
		return -1;
	c->pos += 4 + (uint64_t)size + loc->payload_len;
	c->index++;
	return 1;
}

size_t image_header_bytes(const struct image_type *t, uint8_t out[8])
{
	uint32_t words[2];
	size_t n = 0, i;

	if (t->layout == LAYOUT_RAW)
		return 0;
	if (strcmp(t->name, "INVENTORY") != 0)
		words[n++] = t->service ? MAGIC_IMG_SERVICE : MAGIC_IMG_COMMON;
	words[n++] = t->magic;
	for (i = 0; i < n; i++) {
		out[4 * i] = (uint8_t)words[i];
		out[4 * i + 1] = (uint8_t)(words[i] >> 8);
		out[4 * i + 2] = (uint8_t)(words[i] >> 16);
		out[4 * i + 3] = (uint8_t)(words[i] >> 24);
	}
	return 4 * n;
}
