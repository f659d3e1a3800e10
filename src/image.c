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
static uint64_t round_up(uint64_t x, uint64_t to)
{
	return x > UINT64_MAX - to ? UINT64_MAX : (x + to - 1) / to * to;
}

int image_payload_skipped(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len)
{
	return pd->skip && wire_varint_or_zero(msg, msg_len, pd->skip) != 0;
}

int image_payload_data_len(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len,
			   uint64_t *n)
{
	uint64_t sum = 0, v;
	size_t i;
	int over = 0;

	*n = 0;
	if (image_payload_skipped(pd, msg, msg_len))
		return 0;
	for (i = 0; i < 2 && pd->size[i]; i++) {
		v = wire_varint_or_zero(msg, msg_len, pd->size[i]);
		over |= v > UINT64_MAX - sum;
		sum = over ? UINT64_MAX : sum + v;
	}
	if (pd->unit > 1 && sum > UINT64_MAX / pd->unit) {
		over = 1;
		sum = UINT64_MAX;
	} else if (pd->unit > 1) {
		sum *= pd->unit;
	}
	*n = sum;
	return over ? -1 : 0;
}

int image_put_padding(struct buf *out, const struct payload_desc *pd, uint64_t data_len)
{
	static const uint8_t zeros[8];

	return buf_put(out, zeros, (size_t)(round_up(data_len, pd->align) - data_len));
}

void image_queue_init(struct image_queue *q, const struct payload_desc *pd, const uint8_t *msg,
		      size_t msg_len, const uint8_t *payload, size_t payload_len)
{
	q->pd = pd;
	q->p = payload;
	q->end = payload + payload_len;
	q->count = wire_varint_or_zero(msg, msg_len, pd->size[0]);
	q->index = 0;
}

int image_queue_next(struct image_queue *q, struct image_queue_item *it, struct crit_error *err)
{
	size_t left = (size_t)(q->end - q->p);
	uint64_t padded;

	if (q->index == q->count)
		return 0;
	q->index++;
	if (left < 4)
		return crit_fail(err, "message %" PRIu64 " of %" PRIu64 " of the queue: truncated size",
				 q->index, q->count);
	it->msg_len = wire_le32(q->p);
	if (it->msg_len > left - 4)
		return crit_fail(err, "message %" PRIu64 ": size %" PRIu32 " past the end of the file",
				 q->index, it->msg_len);
	it->msg = q->p + 4;
	it->data = it->msg + it->msg_len;
	it->data_len = wire_varint_or_zero(it->msg, it->msg_len, q->pd->item_size);
	padded = round_up(it->data_len, q->pd->align);
	if (padded > left - 4 - it->msg_len)
		return crit_fail(err, "message %" PRIu64 ": %" PRIu64
				      " bytes of data past the end of the file", q->index, it->data_len);
	q->p = it->data + padded;
	return 1;
}

uint64_t image_queue_put_item(struct buf *out, const struct payload_desc *pd, const uint8_t *msg,
			      size_t msg_len)
{
	buf_put_u32le(out, (uint32_t)msg_len);
	buf_put(out, msg, msg_len);
	return wire_varint_or_zero(msg, msg_len, pd->item_size);
}

size_t image_queue_open_item(struct buf *out)
{
	size_t mark = out->len;

	buf_put_u32le(out, 0);
	return mark;
}

uint64_t image_queue_close_item(struct buf *out, const struct payload_desc *pd, size_t mark)
{
	size_t len = out->len - mark - 4;

	if (out->failed)
		return 0;
	out->data[mark] = (uint8_t)len;
	out->data[mark + 1] = (uint8_t)(len >> 8);
	out->data[mark + 2] = (uint8_t)(len >> 16);
	out->data[mark + 3] = (uint8_t)(len >> 24);
	return wire_varint_or_zero(out->data + mark + 4, len, pd->item_size);
}

int image_first_chunked(const struct image_type *t, const uint8_t *msg, size_t msg_len)
{
	return t->chunked && wire_varint_or_zero(msg, msg_len, t->chunked) != 0;
}

/* The bytes a queue takes: every item walked. */
static int queue_len(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len,
		     const uint8_t *rest, size_t rest_len, uint64_t *n, struct crit_error *err)
{
	struct image_queue q;
	struct image_queue_item it;
	int r;

	image_queue_init(&q, pd, msg, msg_len, rest, rest_len);
	while ((r = image_queue_next(&q, &it, err)) > 0)
		;
	*n = (uint64_t)(q.p - rest);
	return r;
}

int image_payload_len(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len,
		      const uint8_t *rest, size_t rest_len, uint64_t *payload_len,
		      struct crit_error *err)
{
	uint64_t n = 0;

	if (pd->kind == PAYLOAD_NONE) {
		n = 0;
	} else if (pd->rest) {
		n = rest_len;
	} else if (pd->item) {
		if (queue_len(pd, msg, msg_len, rest, rest_len, &n, err))
			return -1;
	} else if (!image_payload_skipped(pd, msg, msg_len)) {
		image_payload_data_len(pd, msg, msg_len, &n);
		n = round_up(n, pd->align);
	}
	if (n > rest_len)
		return crit_fail(err, "payload of %" PRIu64 " bytes past the end of the file (%zu left)",
				 n, rest_len);
	*payload_len = n;
	return 0;
}

static int cursor_need(struct image_cursor *c, uint64_t from, uint64_t to,
		       struct crit_error *err)
{
	uint64_t unit = c->need_unit ? c->need_unit : 1;

	if (!c->need || from >= to || (from >= c->ready_from && to <= c->ready_to))
		return 0;
	if (c->need(c->need_ctx, from, to, err))
		return -1;
	c->ready_from = from / unit * unit;
	c->ready_to = to > UINT64_MAX - unit ? to : (to + unit - 1) / unit * unit;
	if (c->ready_to > c->len)
		c->ready_to = c->len;
	return 0;
}

int image_cursor_next(struct image_cursor *c, struct entry_loc *loc, struct crit_error *err)
{
	const struct image_type *t = c->h->type;
	uint64_t left = c->len - c->pos;
	const struct payload_desc *pd;
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
	if (cursor_need(c, c->pos, c->pos + 4, err))
		return -1;
	size = wire_le32(c->data + c->pos);
	if (size > left - 4)
		return crit_fail(err, "entry size %" PRIu32 " past the end of the file (%" PRIu64
				      " bytes left)", size, left - 4);
	msg = c->data + c->pos + 4;
	if (cursor_need(c, c->pos + 4, c->pos + 4 + size, err))
		return -1;
	if (c->index == 0)
		c->chunked = image_first_chunked(t, msg, size);
	loc->start = c->pos;
	loc->msg_len = size;
	pd = schema_entry_payload(t, c->index, c->chunked);
	/* A queue is walked through its bytes, a rest is all of them. */
	if ((pd->rest || pd->item) && cursor_need(c, c->pos + 4 + size, c->len, err))
		return -1;
	if (image_payload_len(pd, msg, size, msg + size, (size_t)(left - 4 - size),
			      &loc->payload_len, err) ||
	    cursor_need(c, c->pos + 4 + size, c->pos + 4 + size + loc->payload_len, err))
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
	if (!t->bare_magic)
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
