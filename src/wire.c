/* Protocol buffers wire format primitives, bounds-checked. */
#include "wire.h"

#include <string.h>

size_t wire_read_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < 10 && p + i < end; i++) {
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			/* The tenth byte may only carry the top bit. */
			if (i == 9 && p[i] > 1)
				return 0;
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

size_t wire_read_field(const uint8_t *p, const uint8_t *end, struct wire_field *f)
{
	const uint8_t *q = p;
	uint64_t key, len;
	size_t n = wire_read_varint(q, end, &key);

	if (!n || key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return 0;
	q += n;
	f->number = (uint32_t)(key >> 3);
	f->type = (enum wire_type)(key & 7);
	f->start = p;
	f->data = NULL;
	f->len = 0;
	f->value = 0;
	switch (f->type) {
	case WIRE_VARINT:
		n = wire_read_varint(q, end, &f->value);
		if (!n)
			return 0;
		q += n;
		break;
	case WIRE_I64:
		if (end - q < 8)
			return 0;
		f->value = wire_le64(q);
		q += 8;
		break;
	case WIRE_I32:
		if (end - q < 4)
			return 0;
		f->value = wire_le32(q);
		q += 4;
		break;
	case WIRE_LEN:
		n = wire_read_varint(q, end, &len);
		if (!n)
			return 0;
		q += n;
		if (len > (uint64_t)(end - q))
			return 0;
		f->data = q;
		f->len = (size_t)len;
		q += len;
		break;
	default: /* groups are not used by CRIU; 6 and 7 do not exist */
		return 0;
	}
	f->end = q;
	return (size_t)(q - p);
}

uint32_t wire_field_number(const uint8_t *p, const uint8_t *end)
{
	uint64_t key;

	if (!wire_read_varint(p, end, &key) || key >> 3 > 0x1fffffff)
		return 0;
	return (uint32_t)(key >> 3);
}

/* Why wire_read_field failed at p, for the error message. */
const char *wire_field_error(const uint8_t *p, const uint8_t *end)
{
	uint64_t key, v;
	size_t n = wire_read_varint(p, end, &key);

	if (!n)
		return p + 10 <= end ? "invalid varint in field key" : "truncated field key";
	if (key >> 3 == 0)
		return "invalid field number 0";
	if (key >> 3 > 0x1fffffff)
		return "field number above 2^29-1";
	p += n;
	switch (key & 7) {
	case WIRE_VARINT:
		return wire_read_varint(p, end, &v) || end - p < 10 ? "truncated varint"
								  : "invalid varint";
	case WIRE_I64:
	case WIRE_I32:
		return "truncated fixed-size value";
	case WIRE_LEN:
		if (!wire_read_varint(p, end, &v))
			return "truncated length";
		return "length past the end of the message";
	case WIRE_SGROUP:
	case WIRE_EGROUP:
		return "groups are not supported (wire type 3 or 4)";
	default:
		return "invalid wire type";
	}
}

int wire_find_varint(const uint8_t *msg, size_t len, uint32_t number, uint64_t *v)
{
	const uint8_t *p = msg, *end = msg + len;
	struct wire_field f;
	int found = 0;
	size_t n;

	while (p < end && (n = wire_read_field(p, end, &f))) {
		if (f.number == number && f.type == WIRE_VARINT) {
			*v = f.value;
			found = 1;
		}
		p += n;
	}
	return found;
}

uint64_t wire_varint_or_zero(const uint8_t *msg, size_t len, uint32_t number)
{
	uint64_t v = 0;

	if (len) /* an empty message may have no bytes at all (NULL) */
		wire_find_varint(msg, len, number, &v);
	return v;
}

enum wire_type wire_type_of(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return WIRE_I64;
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return WIRE_I32;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return WIRE_LEN;
	default:
		return WIRE_VARINT;
	}
}

int wire_packable(ProtobufCType t)
{
	return wire_type_of(t) != WIRE_LEN;
}

const char *wire_type_name(ProtobufCType t)
{
	static const char *const names[] = {
		"int32", "sint32", "sfixed32", "int64", "sint64", "sfixed64", "uint32", "fixed32",
		"uint64", "fixed64", "float", "double", "bool", "enum", "string", "bytes", "message",
	};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

size_t wire_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int wire_put_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	return buf_put(b, tmp, n);
}

int wire_put_key(struct buf *b, uint32_t number, enum wire_type type)
{
	return wire_put_varint(b, (uint64_t)number << 3 | type);
}

int wire_put_le64(struct buf *b, uint64_t v)
{
	if (buf_put_u32le(b, (uint32_t)v))
		return -1;
	return buf_put_u32le(b, (uint32_t)(v >> 32));
}

int wire_put_scalar(struct buf *b, ProtobufCType t, uint64_t bits)
{
	switch (wire_type_of(t)) {
	case WIRE_I64:
		return wire_put_le64(b, bits);
	case WIRE_I32:
		return buf_put_u32le(b, (uint32_t)bits);
	default:
		return wire_put_varint(b, bits);
	}
}

int wire_close_length(struct buf *b, size_t mark)
{
	size_t len, sz, i;
	uint64_t v;

	if (b->failed)
		return -1;
	len = b->len - mark - 1;
	sz = wire_varint_size(len);
	if (sz > 1) {
		if (buf_reserve(b, sz - 1))
			return -1;
		memmove(b->data + mark + sz, b->data + mark + 1, len);
		b->len += sz - 1;
	}
	for (i = 0, v = len; i < sz; i++, v >>= 7)
		b->data[mark + i] = (uint8_t)((v & 0x7f) | (i + 1 < sz ? 0x80 : 0));
	return 0;
}
