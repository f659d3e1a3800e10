/* Protocol buffers wire format: varints, keys, fields. No allocation. */
#ifndef CRIT_WIRE_H
#define CRIT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "buf.h"

enum wire_type {
	WIRE_VARINT = 0,
	WIRE_I64 = 1,
	WIRE_LEN = 2,
	WIRE_SGROUP = 3,
	WIRE_EGROUP = 4,
	WIRE_I32 = 5,
};

/* One field as it lies on the wire. */
struct wire_field {
	uint32_t number;
	enum wire_type type;
	uint64_t value;		/* VARINT, I64, I32 */
	const uint8_t *data;	/* LEN: the bytes; size in len */
	size_t len;
	const uint8_t *start;	/* the whole field, key included, */
	const uint8_t *end;	/* as it is on the wire */
};

/* Each returns the number of bytes consumed, or 0 when the input is
 * truncated or malformed (a varint over 10 bytes, a bad key, a length
 * past the end, a group, an unknown wire type). */
size_t wire_read_varint(const uint8_t *p, const uint8_t *end, uint64_t *v);
size_t wire_read_field(const uint8_t *p, const uint8_t *end, struct wire_field *f);
const char *wire_field_error(const uint8_t *p, const uint8_t *end);
/* The field number of the key at p, or 0 if the key does not read: lets an
 * error in a value (a bad varint) name its field. */
uint32_t wire_field_number(const uint8_t *p, const uint8_t *end);

/* Find the last occurrence of a VARINT field; 1 if found. */
int wire_find_varint(const uint8_t *msg, size_t len, uint32_t number, uint64_t *v);
/* The value of VARINT field `number`, 0 when the message has none. */
uint64_t wire_varint_or_zero(const uint8_t *msg, size_t len, uint32_t number);

static inline int64_t wire_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
static inline uint64_t wire_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline uint32_t wire_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t wire_le64(const uint8_t *p)
{
	return (uint64_t)wire_le32(p) | (uint64_t)wire_le32(p + 4) << 32;
}

/* How a field of protobuf type t lies on the wire, and its type's name. */
enum wire_type wire_type_of(ProtobufCType t);
int wire_packable(ProtobufCType t); /* a repeated field of it may be packed */
const char *wire_type_name(ProtobufCType t);

size_t wire_varint_size(uint64_t v);
int wire_put_varint(struct buf *b, uint64_t v);
int wire_put_key(struct buf *b, uint32_t number, enum wire_type type);
int wire_put_le64(struct buf *b, uint64_t v);
/* A scalar's value bits, as its type is written (varint, 4 or 8 bytes). */
int wire_put_scalar(struct buf *b, ProtobufCType t, uint64_t bits);
/* Length-delimited values are written after a one-byte placeholder at
 * `mark`; once the value is complete, this writes its length there,
 * moving the value when the length takes more than one byte. */
int wire_close_length(struct buf *b, size_t mark);

#endif
