/* The SMPP codec's per-message primitives, compiled: decoding submit_sm/deliver_sm and message-id
 * responses, and encoding a receipt's deliver_sm body.
 *
 * Each function does exactly what its Python twin in codec.py / deliveries.py does, for the common
 * case only. Anything unusual goes to the Python twin (the receipt body) or returns None so the
 * table-driven decoder explains it (the decoders), which is what the Python twins do too. Tests
 * check both twins byte for byte on the same inputs (tests/smpp/test_speedups.py).
 *
 * The session's per-PDU work is here too (SessionCore): framing, the common request and response,
 * and writing submit_sm_resp and deliver_sm, with everything else handed to session.py.
 *
 * `configure_decoders()`, `configure_receipts()` and `configure_session()` hand over what lives in
 * Python (the TLV decoder, the Python twins, stat words, tag numbers, event types), so there is one
 * registry of each.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#include <stdint.h>
#include <structmember.h>
#include <time.h>

static PyObject *decode_tlvs_func;      /* codec.decode_tlvs(data, pos, end) */
static PyObject *receipt_body_python;   /* deliveries.python_receipt_deliver_sm_body */
static PyObject *stat_words;            /* tuple: MessageState value -> stat word (str) */
static PyObject *delivered_counts;      /* tuple: MessageState value -> dlvrd (int) */
static Py_ssize_t quote_chars;          /* how many characters of the text a receipt quotes */
static PyObject *empty_quote;           /* what an empty text is quoted as (ASCII str) */
/* GSM 7-bit octets whose character is the ASCII character of the same code (text.GSM_SAME_AS_ASCII):
   a run of them is its own quote, with no decoding. */
static unsigned char gsm_as_ascii[256];
static unsigned int tag_receipted_id, tag_message_state, tag_network_error;

static PyObject *s_mangle_id, *s_command, *s_id_format, *s_message, *s_id, *s_destination, *s_source,
    *s_state, *s_error, *s_submitted_parts, *s_date_seconds, *s_submitted_at, *s_done_at, *s_text_label,
    *s_quote, *s_payload, *s_data_coding, *s_intermediate, *s_network_error, *s_legacy;

#define MIN_EPOCH 946684800.0  /* 2000-01-01T00:00:00Z: receipt dates are YYMMDD... */
#define END_EPOCH 4102444800.0 /* 2100-01-01T00:00:00Z */
#define MAX_TEXT 254           /* short_message's limit */

static Py_ssize_t
find_nul(const char *buf, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t end)
{
    /* bytes.find(b"\0", start, stop) for 0 <= start */
    if (stop > end)
        stop = end;
    if (start >= stop)
        return -1;
    const char *hit = memchr(buf + start, 0, (size_t)(stop - start));
    return hit ? hit - buf : -1;
}

static PyObject *
tlvs_or_empty(PyObject *data, Py_ssize_t pos, Py_ssize_t end)
{
    if (pos < end)
        return PyObject_CallFunction(decode_tlvs_func, "Onn", data, pos, end);
    return PyDict_New();
}

/* A decoder's (cls, status, sequence, data, pos): 1 to decode them, 0 to leave the PDU to the
 * table-driven decoder (not bytes, or not configured), -1 on an error. */
static int
decoder_input(const char *name, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t *pos)
{
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "%s takes (cls, status, sequence, data, pos)", name);
        return -1;
    }
    *pos = PyLong_AsSsize_t(args[4]);
    if (*pos == -1 && PyErr_Occurred())
        return -1;
    return decode_tlvs_func != NULL && PyBytes_CheckExact(args[3]) && *pos >= 0;
}

/* decode_short_message(cls, status, sequence, data, pos): codec._decode_short_message */
static PyObject *
decode_short_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos;
    int usable = decoder_input("decode_short_message", args, nargs, &pos);
    if (usable <= 0)
        return usable < 0 ? NULL : Py_NewRef(Py_None);
    PyObject *data = args[3];
    const char *buf = PyBytes_AS_STRING(data);
    const unsigned char *u = (const unsigned char *)buf;
    Py_ssize_t end = PyBytes_GET_SIZE(data);

    Py_ssize_t nul = find_nul(buf, pos, pos + 6, end);
    if (nul < 0)
        Py_RETURN_NONE;
    Py_ssize_t service_at = pos, service_len = nul - pos;
    pos = nul + 3;
    if (pos > end)
        Py_RETURN_NONE;
    unsigned char source_ton = u[nul + 1], source_npi = u[nul + 2];
    nul = find_nul(buf, pos, pos + 21, end);
    if (nul < 0)
        Py_RETURN_NONE;
    Py_ssize_t source_at = pos, source_len = nul - pos;
    pos = nul + 3;
    if (pos > end)
        Py_RETURN_NONE;
    unsigned char dest_ton = u[nul + 1], dest_npi = u[nul + 2];
    nul = find_nul(buf, pos, pos + 21, end);
    if (nul < 0 || nul + 4 > end)
        Py_RETURN_NONE;
    Py_ssize_t dest_at = pos, dest_len = nul - pos;
    unsigned char esm_class = u[nul + 1], protocol_id = u[nul + 2], priority = u[nul + 3];
    pos = nul + 4;
    nul = find_nul(buf, pos, pos + 17, end);
    if (nul < 0 || (nul - pos != 0 && nul - pos != 16))
        Py_RETURN_NONE;
    Py_ssize_t schedule_at = pos, schedule_len = nul - pos;
    pos = nul + 1;
    nul = find_nul(buf, pos, pos + 17, end);
    if (nul < 0 || (nul - pos != 0 && nul - pos != 16))
        Py_RETURN_NONE;
    Py_ssize_t validity_at = pos, validity_len = nul - pos;
    pos = nul + 6;
    if (pos > end)
        Py_RETURN_NONE;
    unsigned char registered = u[nul + 1], replace = u[nul + 2], coding = u[nul + 3], default_id = u[nul + 4];
    Py_ssize_t sm_length = u[nul + 5];
    if (pos + sm_length > end)
        Py_RETURN_NONE;

    /* Positional, in _ShortMessage's field order, as the Python twin builds it. */
    PyObject *fields[20] = {NULL};
    PyObject *result = NULL;
    fields[2] = tlvs_or_empty(data, pos + sm_length, end);
    if (fields[2] == NULL)
        return NULL;  /* the TLV decoder's PduError: decode_body hands the PDU to the table-driven decoder */
    fields[0] = Py_NewRef(args[2]);  /* sequence_number */
    fields[1] = Py_NewRef(args[1]);  /* command_status */
    if ((fields[3] = PyUnicode_DecodeLatin1(buf + service_at, service_len, NULL)) == NULL ||
        (fields[6] = PyUnicode_DecodeLatin1(buf + source_at, source_len, NULL)) == NULL ||
        (fields[10] = PyUnicode_DecodeLatin1(buf + schedule_at, schedule_len, NULL)) == NULL ||
        (fields[11] = PyUnicode_DecodeLatin1(buf + validity_at, validity_len, NULL)) == NULL ||
        (fields[16] = PyBytes_FromStringAndSize(buf + pos, sm_length)) == NULL ||
        (fields[19] = PyUnicode_DecodeLatin1(buf + dest_at, dest_len, NULL)) == NULL)
        goto done;
    /* Octets: small ints are cached, so these cannot fail. */
    fields[4] = PyLong_FromLong(source_ton);
    fields[5] = PyLong_FromLong(source_npi);
    fields[7] = PyLong_FromLong(esm_class);
    fields[8] = PyLong_FromLong(protocol_id);
    fields[9] = PyLong_FromLong(priority);
    fields[12] = PyLong_FromLong(registered);
    fields[13] = PyLong_FromLong(replace);
    fields[14] = PyLong_FromLong(coding);
    fields[15] = PyLong_FromLong(default_id);
    fields[17] = PyLong_FromLong(dest_ton);
    fields[18] = PyLong_FromLong(dest_npi);
    result = PyObject_Vectorcall(args[0], fields, 20, NULL);
done:
    for (int i = 0; i < 20; i++)
        Py_XDECREF(fields[i]);
    return result;
}

/* decode_message_id_resp(cls, status, sequence, data, pos): codec._decode_message_id_resp */
static PyObject *
decode_message_id_resp(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos;
    int usable = decoder_input("decode_message_id_resp", args, nargs, &pos);
    if (usable <= 0)
        return usable < 0 ? NULL : Py_NewRef(Py_None);
    PyObject *data = args[3];
    const char *buf = PyBytes_AS_STRING(data);
    Py_ssize_t end = PyBytes_GET_SIZE(data);
    Py_ssize_t nul = find_nul(buf, pos, pos + 65, end);
    if (nul < 0)
        Py_RETURN_NONE;
    PyObject *tlvs = tlvs_or_empty(data, nul + 1, end);
    if (tlvs == NULL)
        return NULL;
    PyObject *message_id = PyUnicode_DecodeLatin1(buf + pos, nul - pos, NULL);
    if (message_id == NULL) {
        Py_DECREF(tlvs);
        return NULL;
    }
    PyObject *fields[4] = {args[2], args[1], tlvs, message_id};  /* borrowed for the call */
    PyObject *result = PyObject_Vectorcall(args[0], fields, 4, NULL);
    Py_DECREF(tlvs);
    Py_DECREF(message_id);
    return result;
}

/* ---------------------------------------------------------------- the receipt's deliver_sm body */

typedef struct {
    char *at;
    char *end;
} Out;

static int
put(Out *out, const char *data, Py_ssize_t size)
{
    if (size < 0 || out->end - out->at < size)
        return -1;
    memcpy(out->at, data, (size_t)size);
    out->at += size;
    return 0;
}

static int
put_u8(Out *out, unsigned int value)
{
    char octet = (char)value;
    return put(out, &octet, 1);
}

static int
put_u16(Out *out, unsigned int value)
{
    char two[2] = {(char)(value >> 8), (char)value};
    return put(out, two, 2);
}

/* The ASCII characters of an all-ASCII str (-1: not exact str, or not ASCII). */
static Py_ssize_t
ascii_of(PyObject *value, const char **chars)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value))
        return -1;
    *chars = (const char *)PyUnicode_1BYTE_DATA(value);
    return PyUnicode_GET_LENGTH(value);
}

/* The last second one of a receipt's dates was formatted for, and its text. */
typedef struct {
    long long second;
    char text[12];  /* YYMMDDhhmmss */
} DateCache;

/* times.format_receipt_date for a finite instant in 2000-2099; 0 if the instant is outside (the
 * Python twin then explains it). Receipts come in bursts, so each of a receipt's two dates keeps
 * the last second it was formatted for (`cache`: the submit dates' or the done dates'; one cache
 * for both would miss on every receipt whose dates fall in different seconds): most receipts then
 * cost two copies, not two calendar conversions. */
static int
put_receipt_date(Out *out, double epoch, int seconds, DateCache *cache)
{
    if (!isfinite(epoch))
        return 0;
    double whole = floor(epoch);
    if (!(whole >= MIN_EPOCH && whole < END_EPOCH))
        return 0;
    long long second = (long long)whole;
    char *cached = cache->text;
    if (second != cache->second) {
        time_t instant = (time_t)second;
        struct tm fields;
        if (gmtime_r(&instant, &fields) == NULL)
            return 0;
        int parts[6] = {fields.tm_year % 100, fields.tm_mon + 1, fields.tm_mday, fields.tm_hour, fields.tm_min,
                        fields.tm_sec};
        for (int i = 0; i < 6; i++) {
            cached[2 * i] = (char)('0' + parts[i] / 10);
            cached[2 * i + 1] = (char)('0' + parts[i] % 10);
        }
        cache->second = second;
    }
    return put(out, cached, seconds ? 12 : 10) == 0 ? 1 : -1;
}

/* printf's "%03ld" for a value >= 0. */
static int
put_decimal3(Out *out, long value)
{
    char digits[24];
    int size = 0;
    do {
        digits[sizeof digits - 1 - size++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    while (size < 3)
        digits[sizeof digits - 1 - size++] = '0';
    return put(out, digits + sizeof digits - size, size);
}

/* The quoted start of the message text, as `text[:quote_chars].encode("ascii", "replace")` gives it. */
static int
put_quote(Out *out, PyObject *text)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (length > quote_chars)
        length = quote_chars;
    if (length == 0) {
        const char *chars;
        Py_ssize_t size = ascii_of(empty_quote, &chars);
        return put(out, chars, size);
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (put_u8(out, ch < 128 ? ch : '?') < 0)
            return -1;
    }
    return 0;
}

/* A receipt without a quote of its own quotes its message's payload: as `put_quote` would quote the
   decoded text when the payload is GSM 7-bit (data_coding 0) made of octets that decode to the ASCII
   character of the same code, one character an octet. 0: written; 1: not such a payload (the Python
   twin decodes it); -1: no room. */
static int
put_payload_quote(Out *out, PyObject *payload)
{
    Py_ssize_t length = PyBytes_GET_SIZE(payload);
    if (length > quote_chars)
        length = quote_chars;
    const unsigned char *octets = (const unsigned char *)PyBytes_AS_STRING(payload);
    for (Py_ssize_t i = 0; i < length; i++)
        if (!gsm_as_ascii[octets[i]])
            return 1;
    if (length == 0) {
        const char *chars;
        Py_ssize_t size = ascii_of(empty_quote, &chars);
        return put(out, chars, size);
    }
    return put(out, (const char *)octets, length);
}

typedef struct {
    PyObject *mangle_id, *command, *id_format, *message, *id, *destination, *source, *state, *error,
        *submitted_parts, *date_seconds, *submitted_at, *done_at, *text_label, *quote, *payload, *data_coding,
        *intermediate, *network_error;
} ReceiptFields;

#define RECEIPT_FIELDS (sizeof(ReceiptFields) / sizeof(PyObject *))

static int
get_field(PyObject **slot, PyObject *owner, PyObject *name)
{
    *slot = PyObject_GetAttr(owner, name);
    return *slot == NULL ? -1 : 0;
}

/* 1: the body is in `out`; 0: not the common case (the Python twin decides); -1: an error is set. */
static int
build_receipt_body(Out *out, ReceiptFields *f, PyObject *receipt, PyObject *config, int legacy)
{
    if (get_field(&f->mangle_id, receipt, s_mangle_id) || get_field(&f->command, config, s_command) ||
        get_field(&f->id_format, config, s_id_format))
        return -1;
    if (f->mangle_id != Py_None || !PyUnicode_CheckExact(f->command) ||
        PyUnicode_CompareWithASCIIString(f->command, "deliver_sm") != 0 || !PyUnicode_CheckExact(f->id_format) ||
        PyUnicode_CompareWithASCIIString(f->id_format, "hex") != 0)
        return 0;
    if (get_field(&f->message, receipt, s_message) || get_field(&f->id, f->message, s_id) ||
        get_field(&f->destination, f->message, s_destination) || get_field(&f->source, f->message, s_source) ||
        get_field(&f->state, receipt, s_state) || get_field(&f->error, receipt, s_error) ||
        get_field(&f->submitted_parts, receipt, s_submitted_parts) ||
        get_field(&f->date_seconds, config, s_date_seconds) ||
        get_field(&f->submitted_at, f->message, s_submitted_at) || get_field(&f->done_at, receipt, s_done_at) ||
        get_field(&f->text_label, config, s_text_label) || get_field(&f->quote, receipt, s_quote) ||
        get_field(&f->intermediate, receipt, s_intermediate) ||
        get_field(&f->network_error, receipt, s_network_error))
        return -1;

    const char *id = NULL, *source = NULL, *destination = NULL, *label = NULL;
    Py_ssize_t id_len = ascii_of(f->id, &id);
    /* The deliver_sm's source is the message's destination, and the other way round. */
    Py_ssize_t source_len = ascii_of(f->destination, &source);
    Py_ssize_t destination_len = ascii_of(f->source, &destination);
    Py_ssize_t label_len = ascii_of(f->text_label, &label);
    if (id_len < 0 || id_len > 64 || source_len < 0 || destination_len < 0 || label_len < 0 || label_len > 64 ||
        !PyLong_CheckExact(f->error) || !PyLong_CheckExact(f->submitted_parts) ||
        !PyFloat_CheckExact(f->submitted_at) || !PyFloat_CheckExact(f->done_at))
        return 0;
    if (f->quote == Py_None) {
        /* The usual receipt quotes its message: a GSM 7-bit payload is copied, anything else decoded by the twin. */
        if (get_field(&f->payload, f->message, s_payload) || get_field(&f->data_coding, f->message, s_data_coding))
            return -1;
        int coding_overflow;
        if (!PyBytes_CheckExact(f->payload) || !PyLong_CheckExact(f->data_coding) ||
            PyLong_AsLongAndOverflow(f->data_coding, &coding_overflow) != 0 || coding_overflow)
            return 0;
    }
    else if (!PyUnicode_CheckExact(f->quote))
        return 0;
    if (source_len > 20)
        source_len = 20;
    if (destination_len > 20)
        destination_len = 20;
    if (memchr(source, 0, (size_t)source_len) || memchr(destination, 0, (size_t)destination_len))
        return 0;
    if (!PyLong_Check(f->state))
        return 0;
    int overflow;
    long state = PyLong_AsLongAndOverflow(f->state, &overflow);
    if (overflow || state < 0 || state >= PyTuple_GET_SIZE(stat_words))
        return 0;
    long error = PyLong_AsLongAndOverflow(f->error, &overflow);
    if (overflow || error < 0)
        return 0;
    long submitted = PyLong_AsLongAndOverflow(f->submitted_parts, &overflow);
    if (overflow || submitted < 0)
        return 0;
    long delivered = PyLong_AsLong(PyTuple_GET_ITEM(delivered_counts, state));
    const char *stat;
    Py_ssize_t stat_len = ascii_of(PyTuple_GET_ITEM(stat_words, state), &stat);
    if (stat_len < 0 || (delivered == -1 && PyErr_Occurred()))
        return -1;
    int seconds = PyObject_IsTrue(f->date_seconds);
    int intermediate = PyObject_IsTrue(f->intermediate);
    if (seconds < 0 || intermediate < 0)
        return -1;
    unsigned int network_type = 0, network_code = 0;
    if (!legacy && f->network_error != Py_None) {
        PyObject *pair = f->network_error;
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(pair, 0)) || !PyLong_CheckExact(PyTuple_GET_ITEM(pair, 1)))
            return 0;
        long kind = PyLong_AsLongAndOverflow(PyTuple_GET_ITEM(pair, 0), &overflow);
        if (overflow || kind < 0 || kind > 0xFF)
            return 0;
        long code = PyLong_AsLongAndOverflow(PyTuple_GET_ITEM(pair, 1), &overflow);
        if (overflow || code < 0 || code > 0xFFFF)
            return 0;
        network_type = (unsigned int)kind;
        network_code = (unsigned int)code;
    }

    /* The receipt text (receipts.RECEIPT_TEXT), at most 254 octets in short_message. */
    char text_buffer[512];
    Out text = {text_buffer, text_buffer + sizeof text_buffer};
    int dated;
    if (put(&text, "id:", 3) || put(&text, id, id_len) || put(&text, " sub:", 5) || put_decimal3(&text, submitted) ||
        put(&text, " dlvrd:", 7) || put_decimal3(&text, delivered) || put(&text, " submit date:", 13))
        return 0;
    static DateCache submit_dates = {-1, {0}}, done_dates = {-1, {0}};
    dated = put_receipt_date(&text, PyFloat_AS_DOUBLE(f->submitted_at), seconds, &submit_dates);
    if (dated <= 0 || put(&text, " done date:", 11))
        return 0;
    dated = put_receipt_date(&text, PyFloat_AS_DOUBLE(f->done_at), seconds, &done_dates);
    if (dated <= 0 || put(&text, " stat:", 6) || put(&text, stat, stat_len) || put(&text, " err:", 5) ||
        put_decimal3(&text, error) || put(&text, " ", 1) || put(&text, label, label_len) || put(&text, ":", 1) ||
        (f->quote == Py_None ? put_payload_quote(&text, f->payload) : put_quote(&text, f->quote)))
        return 0;
    Py_ssize_t text_len = text.at - text_buffer;
    if (text_len > MAX_TEXT)
        text_len = MAX_TEXT;

    static const char esm_receipt[6] = {0, 0x04, 0, 0, 0, 0};       /* NUL, esm_class, pid, priority, 2 times */
    static const char esm_intermediate[6] = {0, 0x20, 0, 0, 0, 0};
    if (put(out, "\0\0\0", 3) || put(out, source, source_len) || put(out, "\0\0\0", 3) ||
        put(out, destination, destination_len) || put(out, intermediate ? esm_intermediate : esm_receipt, 6) ||
        put(out, "\0\0\0\0", 4) || put_u8(out, (unsigned int)text_len) || put(out, text_buffer, text_len))
        return 0;
    if (!legacy) {
        if (put_u16(out, tag_receipted_id) || put_u16(out, (unsigned int)id_len + 1) || put(out, id, id_len) ||
            put_u8(out, 0) || put_u16(out, tag_message_state) || put_u16(out, 1) || put_u8(out, (unsigned int)state))
            return 0;
        if (f->network_error != Py_None &&
            (put_u16(out, tag_network_error) || put_u16(out, 3) || put_u8(out, network_type) ||
             put_u16(out, network_code)))
            return 0;
    }
    return 1;
}

/* receipt_deliver_sm_body(receipt, config, *, legacy): deliveries.python_receipt_deliver_sm_body */
static PyObject *
receipt_deliver_sm_body(PyObject *module, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 2 || kwnames == NULL || PyTuple_GET_SIZE(kwnames) != 1 ||
        PyUnicode_Compare(PyTuple_GET_ITEM(kwnames, 0), s_legacy) != 0) {
        if (PyErr_Occurred())
            return NULL;
        PyErr_SetString(PyExc_TypeError, "receipt_deliver_sm_body takes (receipt, config, *, legacy)");
        return NULL;
    }
    if (receipt_body_python == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "simulator.smpp._speedups: configure_receipts() was not called");
        return NULL;
    }
    int legacy = PyObject_IsTrue(args[2]);
    if (legacy < 0)
        return NULL;
    ReceiptFields fields = {NULL};
    char body_buffer[1024];
    Out out = {body_buffer, body_buffer + sizeof body_buffer};
    int built = build_receipt_body(&out, &fields, args[0], args[1], legacy);
    for (size_t i = 0; i < RECEIPT_FIELDS; i++)
        Py_XDECREF(((PyObject **)&fields)[i]);
    if (built < 0)
        return NULL;
    if (built == 0)
        return PyObject_Vectorcall(receipt_body_python, args, nargsf, kwnames);
    return PyBytes_FromStringAndSize(body_buffer, out.at - body_buffer);
}


/* ---------------------------------------------------------------- the session's per-PDU work */

/* Handed over by session.py's configure_session() (one registry of each). */
static PyObject *session_twin;          /* session.PythonSessionCore: what the unusual cases go to */
static PyObject *state_closed, *state_bound;
static PyObject *receiving_bind_types;  /* tuple: bind types that may be sent deliver_sm */
static PyObject *outbound_for_receivers; /* frozenset of command ids only such binds may be sent */
static PyObject *request_received_type, *response_received_type, *outstanding_type, *pdu_error_type;
static PyObject *fast_classes;          /* dict: command_id -> PDU class decoded here */
static PyObject *s_handle_frame, *s_popleft, *s_command_id, *s_context;

#define RESPONSE_BIT 0x80000000u
#define SUBMIT_SM 0x00000004u
#define UNBIND_RESP 0x80000006u
#define HEADER_SIZE 16

typedef struct {
    PyObject_HEAD
    PyObject *state, *bind_type, *window;
    PyObject *buffer;            /* _buffer: bytearray of unparsed input from _offset */
    PyObject *events;            /* _events: deque of events not yet taken */
    PyObject *allowed;           /* _allowed: command ids the bind's role may send us */
    PyObject *awaiting;          /* _awaiting_answer: sequence numbers of the peer's requests we owe */
    PyObject *outstanding;       /* _outstanding: our requests' sequence numbers -> _Outstanding */
    PyObject *out;               /* _out: encoded PDUs to write */
    Py_ssize_t offset, next_sequence, pdus_received, max_pdu;
} SessionObject;

static int
Session_traverse(SessionObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->state);
    Py_VISIT(self->bind_type);
    Py_VISIT(self->window);
    Py_VISIT(self->buffer);
    Py_VISIT(self->events);
    Py_VISIT(self->allowed);
    Py_VISIT(self->awaiting);
    Py_VISIT(self->outstanding);
    Py_VISIT(self->out);
    return 0;
}

static int
Session_clear(SessionObject *self)
{
    Py_CLEAR(self->state);
    Py_CLEAR(self->bind_type);
    Py_CLEAR(self->window);
    Py_CLEAR(self->buffer);
    Py_CLEAR(self->events);
    Py_CLEAR(self->allowed);
    Py_CLEAR(self->awaiting);
    Py_CLEAR(self->outstanding);
    Py_CLEAR(self->out);
    return 0;
}

static void
Session_dealloc(SessionObject *self)
{
    PyObject_GC_UnTrack(self);
    Session_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Session_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (session_twin == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "simulator.smpp._speedups: configure_session() was not called");
        return NULL;
    }
    SessionObject *self = (SessionObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    /* Session.__init__ sets them all; these keep the object whole until it does. */
    self->state = Py_NewRef(Py_None);
    self->bind_type = Py_NewRef(Py_None);
    self->window = PyLong_FromLong(0);
    self->buffer = PyByteArray_FromStringAndSize(NULL, 0);
    self->events = PyList_New(0);
    self->allowed = PyFrozenSet_New(NULL);
    self->awaiting = PySet_New(NULL);
    self->outstanding = PyDict_New();
    self->out = PyList_New(0);
    self->next_sequence = 1;
    self->max_pdu = 0;
    if (!self->window || !self->buffer || !self->events || !self->allowed || !self->awaiting || !self->outstanding ||
        !self->out) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
Session_init(SessionObject *self, PyObject *args, PyObject *kwargs)
{
    return 0;  /* Session.__init__ sets the attributes itself */
}

/* Call the pure-Python twin's method of the same name on this session: the unusual cases. */
static PyObject *
call_twin(SessionObject *self, const char *name, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *method = PyObject_GetAttrString(session_twin, name);
    if (method == NULL)
        return NULL;
    PyObject *stack[8];
    Py_ssize_t given = nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    if (given > 7) {
        Py_DECREF(method);
        PyErr_SetString(PyExc_TypeError, "too many arguments");
        return NULL;
    }
    stack[0] = (PyObject *)self;
    for (Py_ssize_t i = 0; i < given; i++)
        stack[i + 1] = args[i];
    PyObject *result = PyObject_Vectorcall(method, stack, nargs + 1, kwnames);
    Py_DECREF(method);
    return result;
}

static int
containers_ok(SessionObject *self)
{
    return self->buffer && PyByteArray_CheckExact(self->buffer) && self->out && PyList_CheckExact(self->out) &&
           self->awaiting && PySet_CheckExact(self->awaiting) && self->outstanding &&
           PyDict_CheckExact(self->outstanding) && self->allowed && PyAnySet_Check(self->allowed) && self->events &&
           self->state && self->bind_type && self->window;
}

static PyObject *
Session_feed(SessionObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* Add bytes from the peer. Nothing is parsed until next_event() asks for it. */
    if (nargs != 1 || kwnames != NULL || !containers_ok(self) || !PyBytes_CheckExact(args[0]))
        return call_twin(self, "feed", args, nargs, kwnames);
    if (self->state == state_closed)
        Py_RETURN_NONE;
    PyObject *buffer = self->buffer;
    Py_ssize_t size = PyByteArray_GET_SIZE(buffer), offset = self->offset;
    Py_ssize_t added = PyBytes_GET_SIZE(args[0]);
    if (offset < 0 || offset > size)
        return call_twin(self, "feed", args, nargs, kwnames);
    /* Drop what was parsed once per read, not once per PDU. */
    Py_ssize_t kept = size - offset;
    if (offset)
        memmove(PyByteArray_AS_STRING(buffer), PyByteArray_AS_STRING(buffer) + offset, (size_t)kept);
    self->offset = 0;
    if (PyByteArray_Resize(buffer, kept + added) < 0)
        return NULL;
    memcpy(PyByteArray_AS_STRING(buffer) + kept, PyBytes_AS_STRING(args[0]), (size_t)added);
    Py_RETURN_NONE;
}

static uint32_t
read_u32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void
write_u32(char *p, uint32_t value)
{
    p[0] = (char)(value >> 24);
    p[1] = (char)(value >> 16);
    p[2] = (char)(value >> 8);
    p[3] = (char)value;
}

/* The PDU decoded by this module's decoders, or NULL with no error set when the general decoder
 * must see it (unusual, or malformed: it explains what is wrong). */
static PyObject *
fast_decode(PyObject *cls, uint32_t command_id, PyObject *status, PyObject *sequence, PyObject *frame)
{
    static PyObject *position;
    if (position == NULL && (position = PyLong_FromLong(HEADER_SIZE)) == NULL)
        return NULL;
    PyObject *args[5] = {cls, status, sequence, frame, position};
    PyObject *pdu = (command_id & RESPONSE_BIT) ? decode_message_id_resp(NULL, args, 5)
                                                 : decode_short_message(NULL, args, 5);
    if (pdu == NULL) {
        if (PyErr_ExceptionMatches(pdu_error_type))
            PyErr_Clear();
        return NULL;
    }
    if (pdu == Py_None) {
        Py_DECREF(pdu);
        return NULL;
    }
    return pdu;
}

/* A submit_sm on a bound session, allowed and within the window: its RequestReceived, or NULL with
 * no error set when the general path must take the PDU. */
static PyObject *
fast_request(SessionObject *self, uint32_t command_id, PyObject *command, PyObject *status, PyObject *sequence,
             PyObject *frame)
{
    if (command_id != SUBMIT_SM || self->state != state_bound || self->bind_type == Py_None ||
        !PyLong_CheckExact(self->window))
        return NULL;
    int allowed = PySet_Contains(self->allowed, command);
    if (allowed <= 0)
        return NULL;  /* not allowed (the general path refuses it), or an error the general path meets again */
    Py_ssize_t window = PyLong_AsSsize_t(self->window);
    if ((window == -1 && PyErr_Occurred()) || (window && PySet_GET_SIZE(self->awaiting) >= window)) {
        PyErr_Clear();
        return NULL;  /* the window is full: the general path refuses it */
    }
    PyObject *cls = PyDict_GetItemWithError(fast_classes, command);
    if (cls == NULL)
        return NULL;
    PyObject *pdu = fast_decode(cls, command_id, status, sequence, frame);
    if (pdu == NULL)
        return NULL;
    if (PySet_Add(self->awaiting, sequence) < 0) {
        Py_DECREF(pdu);
        return NULL;
    }
    PyObject *event = PyObject_CallOneArg(request_received_type, pdu);
    Py_DECREF(pdu);
    return event;
}

/* The answer to one of our requests (deliver_sm_resp above all): its ResponseReceived, or NULL with
 * no error set when the general path must take the PDU. */
static PyObject *
fast_response(SessionObject *self, uint32_t command_id, PyObject *command, PyObject *status, PyObject *sequence,
              PyObject *frame)
{
    if (command_id == UNBIND_RESP || PyBytes_GET_SIZE(frame) <= HEADER_SIZE)
        return NULL;
    PyObject *cls = PyDict_GetItemWithError(fast_classes, command);
    if (cls == NULL)
        return NULL;
    PyObject *request = PyDict_GetItemWithError(self->outstanding, sequence);
    if (request == NULL)
        return NULL;  /* an answer to nothing: the general path reports it */
    PyObject *pdu = fast_decode(cls, command_id, status, sequence, frame);
    if (pdu == NULL)
        return NULL;
    Py_INCREF(request);
    PyObject *event = NULL;
    if (PyDict_DelItem(self->outstanding, sequence) == 0) {
        PyObject *request_command = PyObject_GetAttr(request, s_command_id);
        PyObject *context = request_command ? PyObject_GetAttr(request, s_context) : NULL;
        if (context != NULL) {
            PyObject *fields[3] = {pdu, request_command, context};
            event = PyObject_Vectorcall(response_received_type, fields, 3, NULL);
        }
        Py_XDECREF(request_command);
        Py_XDECREF(context);
    }
    Py_DECREF(request);
    Py_DECREF(pdu);
    return event;
}

/* Parse one PDU: 0 when the bytes so far hold none; 1 when one was parsed, with its event in
 * `*event` (the common case) or queued in _events by the general path; -1 on an error. */
static int
parse_one(SessionObject *self, PyObject **event)
{
    PyObject *buffer = self->buffer;
    Py_ssize_t total = PyByteArray_GET_SIZE(buffer), offset = self->offset;
    if (offset < 0 || total - offset < HEADER_SIZE)
        return 0;
    const unsigned char *head = (const unsigned char *)PyByteArray_AS_STRING(buffer) + offset;
    uint32_t length = read_u32(head), command_id = read_u32(head + 4), status_value = read_u32(head + 8),
             sequence_value = read_u32(head + 12);
    if (length < HEADER_SIZE || (Py_ssize_t)length > self->max_pdu) {
        PyObject *done = PyObject_CallMethod((PyObject *)self, "_framing_lost", "kkk", (unsigned long)length,
                                             (unsigned long)command_id, (unsigned long)sequence_value);
        Py_XDECREF(done);
        return done == NULL ? -1 : 1;
    }
    if (total - offset < (Py_ssize_t)length)
        return 0;
    self->pdus_received++;
    PyObject *frame = PyBytes_FromStringAndSize((const char *)head, length);
    if (frame == NULL)
        return -1;
    offset += length;
    if (offset == total) {
        if (PyByteArray_Resize(buffer, 0) < 0) {
            Py_DECREF(frame);
            return -1;
        }
        offset = 0;
    }
    self->offset = offset;
    PyObject *command = PyLong_FromUnsignedLong(command_id);
    PyObject *status = PyLong_FromUnsignedLong(status_value);
    PyObject *sequence = PyLong_FromUnsignedLong(sequence_value);
    int result = -1;
    if (command && status && sequence) {
        *event = (command_id & RESPONSE_BIT) ? fast_response(self, command_id, command, status, sequence, frame)
                                             : fast_request(self, command_id, command, status, sequence, frame);
        if (*event != NULL) {
            result = 1;
        }
        else if (!PyErr_Occurred()) {
            PyObject *args[6] = {(PyObject *)self, frame, command, status, sequence, self->events};
            PyObject *done = PyObject_VectorcallMethod(s_handle_frame, args, 6, NULL);
            Py_XDECREF(done);
            result = done == NULL ? -1 : 1;
        }
    }
    Py_XDECREF(command);
    Py_XDECREF(status);
    Py_XDECREF(sequence);
    Py_DECREF(frame);
    return result;
}

static PyObject *
Session_next_event(SessionObject *self, PyObject *unused)
{
    /* The next event, parsing one more PDU if needed; None when the bytes so far are used up. */
    if (!containers_ok(self)) {
        PyErr_SetString(PyExc_TypeError, "a session attribute was replaced by an object of the wrong type");
        return NULL;
    }
    for (;;) {
        Py_ssize_t pending = PyObject_Size(self->events);
        if (pending < 0)
            return NULL;
        if (pending > 0)
            return PyObject_CallMethodNoArgs(self->events, s_popleft);
        if (self->state == state_closed)
            Py_RETURN_NONE;
        PyObject *event = NULL;
        int parsed = parse_one(self, &event);
        if (parsed < 0)
            return NULL;
        if (event != NULL)
            return event;
        if (parsed == 0)
            Py_RETURN_NONE;
    }
}

/* A PDU with a 16-octet header and `body_size` more octets, the header filled in. */
static PyObject *
new_pdu(uint32_t command_id, uint32_t sequence, Py_ssize_t body_size, char **body)
{
    PyObject *pdu = PyBytes_FromStringAndSize(NULL, HEADER_SIZE + body_size);
    if (pdu == NULL)
        return NULL;
    char *data = PyBytes_AS_STRING(pdu);
    write_u32(data, (uint32_t)(HEADER_SIZE + body_size));
    write_u32(data + 4, command_id);
    write_u32(data + 8, 0);
    write_u32(data + 12, sequence);
    *body = data + HEADER_SIZE;
    return pdu;
}

static int
u32_of(PyObject *value, uint32_t *out)
{
    if (!PyLong_CheckExact(value))
        return 0;
    int overflow;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || number < 0 || number > 0xFFFFFFFFLL) {
        PyErr_Clear();
        return 0;
    }
    *out = (uint32_t)number;
    return 1;
}

static PyObject *
Session_respond_with_id(SessionObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* respond() with status 0 and just a message_id (submit_sm_resp, data_sm_resp): no Pdu. */
    uint32_t command_id, sequence;
    if (nargs != 3 || kwnames != NULL || !containers_ok(self) || !u32_of(args[0], &command_id) ||
        !u32_of(args[1], &sequence) || !PyUnicode_CheckExact(args[2]) || !PyUnicode_IS_ASCII(args[2]))
        return call_twin(self, "respond_with_id", args, nargs, kwnames);
    if (PySet_Discard(self->awaiting, args[1]) < 0)
        return NULL;
    if (self->state == state_closed)
        Py_RETURN_NONE;
    Py_ssize_t size = PyUnicode_GET_LENGTH(args[2]);
    char *body;
    PyObject *pdu = new_pdu(command_id, sequence, size + 1, &body);
    if (pdu == NULL)
        return NULL;
    memcpy(body, PyUnicode_1BYTE_DATA(args[2]), (size_t)size);
    body[size] = 0;
    int failed = PyList_Append(self->out, pdu);
    Py_DECREF(pdu);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Session_send_encoded(SessionObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* send_request() for a body the caller encoded itself (the receipt hot path): its sequence number. */
    uint32_t command_id;
    if (nargs < 2 || nargs > 3 || kwnames != NULL || !containers_ok(self) || !u32_of(args[0], &command_id) ||
        !PyBytes_CheckExact(args[1]) || self->state != state_bound || self->next_sequence < 1 ||
        self->next_sequence > 0x7FFFFFFF)
        return call_twin(self, "send_encoded", args, nargs, kwnames);
    int receivers_only = PySet_Contains(outbound_for_receivers, args[0]);
    if (receivers_only < 0)
        return NULL;
    if (receivers_only) {
        int may_receive = PySequence_Contains(receiving_bind_types, self->bind_type);
        if (may_receive < 0)
            return NULL;
        if (!may_receive)
            return call_twin(self, "send_encoded", args, nargs, kwnames);  /* which raises LocalProtocolError */
    }
    Py_ssize_t sequence = self->next_sequence;
    PyObject *context = nargs == 3 ? args[2] : Py_None;
    PyObject *sequence_number = PyLong_FromSsize_t(sequence);
    if (sequence_number == NULL)
        return NULL;
    PyObject *fields[2] = {args[0], context};
    PyObject *request = PyObject_Vectorcall(outstanding_type, fields, 2, NULL);
    char *body;
    Py_ssize_t body_size = PyBytes_GET_SIZE(args[1]);
    PyObject *pdu = request ? new_pdu(command_id, (uint32_t)sequence, body_size, &body) : NULL;
    int failed = pdu == NULL;
    if (!failed) {
        memcpy(body, PyBytes_AS_STRING(args[1]), (size_t)body_size);
        failed = PyDict_SetItem(self->outstanding, sequence_number, request) < 0 || PyList_Append(self->out, pdu) < 0;
    }
    Py_XDECREF(request);
    Py_XDECREF(pdu);
    if (failed) {
        Py_DECREF(sequence_number);
        return NULL;
    }
    self->next_sequence = sequence >= 0x7FFFFFFF ? 1 : sequence + 1;
    return sequence_number;
}

static PyMethodDef Session_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))Session_feed, METH_FASTCALL | METH_KEYWORDS,
     "Add bytes from the peer. Nothing is parsed until next_event() asks for it."},
    {"next_event", (PyCFunction)Session_next_event, METH_NOARGS,
     "The next event, parsing one more PDU if needed; None when the bytes so far are used up."},
    {"respond_with_id", (PyCFunction)(void (*)(void))Session_respond_with_id, METH_FASTCALL | METH_KEYWORDS,
     "respond() with status 0 and just a message_id: the hot path, no Pdu."},
    {"send_encoded", (PyCFunction)(void (*)(void))Session_send_encoded, METH_FASTCALL | METH_KEYWORDS,
     "send_request() for a body the caller encoded itself; returns its sequence number."},
    {NULL},
};

static PyMemberDef Session_members[] = {
    {"state", T_OBJECT_EX, offsetof(SessionObject, state), 0, NULL},
    {"bind_type", T_OBJECT_EX, offsetof(SessionObject, bind_type), 0, NULL},
    {"window", T_OBJECT_EX, offsetof(SessionObject, window), 0, NULL},
    {"_buffer", T_OBJECT_EX, offsetof(SessionObject, buffer), 0, NULL},
    {"_events", T_OBJECT_EX, offsetof(SessionObject, events), 0, NULL},
    {"_allowed", T_OBJECT_EX, offsetof(SessionObject, allowed), 0, NULL},
    {"_awaiting_answer", T_OBJECT_EX, offsetof(SessionObject, awaiting), 0, NULL},
    {"_outstanding", T_OBJECT_EX, offsetof(SessionObject, outstanding), 0, NULL},
    {"_out", T_OBJECT_EX, offsetof(SessionObject, out), 0, NULL},
    {"_offset", T_PYSSIZET, offsetof(SessionObject, offset), 0, NULL},
    {"_next_sequence", T_PYSSIZET, offsetof(SessionObject, next_sequence), 0, NULL},
    {"pdus_received", T_PYSSIZET, offsetof(SessionObject, pdus_received), 0, NULL},
    {"_max_pdu", T_PYSSIZET, offsetof(SessionObject, max_pdu), 0, NULL},
    {NULL},
};

static PyTypeObject SessionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simulator.smpp._speedups.SessionCore",
    .tp_doc = "The session's per-PDU work, compiled: the twin of session.PythonSessionCore.",
    .tp_basicsize = sizeof(SessionObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = Session_new,
    .tp_init = (initproc)Session_init,
    .tp_dealloc = (destructor)Session_dealloc,
    .tp_traverse = (traverseproc)Session_traverse,
    .tp_clear = (inquiry)Session_clear,
    .tp_methods = Session_methods,
    .tp_members = Session_members,
};

static PyObject *
configure_session(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"python_twin", "closed", "bound", "receivers", "outbound_for_receivers",
                               "request_received", "response_received", "outstanding", "pdu_error",
                               "fast_classes", NULL};
    PyObject *twin, *closed, *bound, *receivers, *outbound, *request, *response, *pending, *error, *classes;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$OOOO!O!OOOOO!", keywords, &twin, &closed, &bound, &PyTuple_Type,
                                     &receivers, &PyFrozenSet_Type, &outbound, &request, &response, &pending, &error,
                                     &PyDict_Type, &classes))
        return NULL;
    Py_XSETREF(session_twin, Py_NewRef(twin));
    Py_XSETREF(state_closed, Py_NewRef(closed));
    Py_XSETREF(state_bound, Py_NewRef(bound));
    Py_XSETREF(receiving_bind_types, Py_NewRef(receivers));
    Py_XSETREF(outbound_for_receivers, Py_NewRef(outbound));
    Py_XSETREF(request_received_type, Py_NewRef(request));
    Py_XSETREF(response_received_type, Py_NewRef(response));
    Py_XSETREF(outstanding_type, Py_NewRef(pending));
    Py_XSETREF(pdu_error_type, Py_NewRef(error));
    Py_XSETREF(fast_classes, Py_NewRef(classes));
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- set-up */

static PyObject *
configure_decoders(PyObject *module, PyObject *decoder)
{
    Py_XSETREF(decode_tlvs_func, Py_NewRef(decoder));
    Py_RETURN_NONE;
}

static PyObject *
configure_receipts(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"python_twin", "stat_words", "delivered", "quote_chars", "empty_quote",
                               "gsm_as_ascii", "tag_receipted_id", "tag_message_state", "tag_network_error", NULL};
    PyObject *python_body, *words, *delivered, *empty, *as_ascii;
    Py_ssize_t chars;
    unsigned int receipted, state, network;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$OO!O!nUSIII", keywords, &python_body, &PyTuple_Type, &words,
                                     &PyTuple_Type, &delivered, &chars, &empty, &as_ascii, &receipted, &state,
                                     &network))
        return NULL;
    const char *unused;
    if (PyTuple_GET_SIZE(words) != PyTuple_GET_SIZE(delivered) || chars < 0 || ascii_of(empty, &unused) < 0 ||
        PyUnicode_GET_LENGTH(empty) > 64) {
        PyErr_SetString(PyExc_ValueError, "stat words and delivered counts must match; the empty quote is ASCII");
        return NULL;
    }
    Py_XSETREF(receipt_body_python, Py_NewRef(python_body));
    Py_XSETREF(stat_words, Py_NewRef(words));
    Py_XSETREF(delivered_counts, Py_NewRef(delivered));
    Py_XSETREF(empty_quote, Py_NewRef(empty));
    quote_chars = chars;
    memset(gsm_as_ascii, 0, sizeof gsm_as_ascii);
    for (Py_ssize_t i = 0; i < PyBytes_GET_SIZE(as_ascii); i++)
        gsm_as_ascii[(unsigned char)PyBytes_AS_STRING(as_ascii)[i]] = 1;
    tag_receipted_id = receipted;
    tag_message_state = state;
    tag_network_error = network;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"decode_short_message", (PyCFunction)(void (*)(void))decode_short_message, METH_FASTCALL,
     "codec._decode_short_message, compiled."},
    {"decode_message_id_resp", (PyCFunction)(void (*)(void))decode_message_id_resp, METH_FASTCALL,
     "codec._decode_message_id_resp, compiled."},
    {"receipt_deliver_sm_body", (PyCFunction)(void (*)(void))receipt_deliver_sm_body,
     METH_FASTCALL | METH_KEYWORDS, "deliveries.python_receipt_deliver_sm_body, compiled."},
    {"configure_decoders", (PyCFunction)configure_decoders, METH_O, "Hand over codec.decode_tlvs."},
    {"configure_session", (PyCFunction)(void (*)(void))configure_session, METH_VARARGS | METH_KEYWORDS,
     "Hand over what the compiled session needs from session.py: its Python twin, states, event types."},
    {"configure_receipts", (PyCFunction)(void (*)(void))configure_receipts, METH_VARARGS | METH_KEYWORDS,
     "Hand over the receipt body's Python twin, the stat words and dlvrd counts by state, and tag numbers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "simulator.smpp._speedups",
    "The SMPP codec's per-message primitives, compiled (see simulator/smpp/speedups.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    struct {
        PyObject **slot;
        const char *name;
    } names[] = {
        {&s_mangle_id, "mangle_id"}, {&s_command, "command"}, {&s_id_format, "id_format"},
        {&s_message, "message"}, {&s_id, "id"}, {&s_destination, "destination"}, {&s_source, "source"},
        {&s_state, "state"}, {&s_error, "error"}, {&s_submitted_parts, "submitted_parts"},
        {&s_date_seconds, "date_seconds"}, {&s_submitted_at, "submitted_at"}, {&s_done_at, "done_at"},
        {&s_text_label, "text_label"}, {&s_quote, "quote"}, {&s_payload, "payload"},
        {&s_data_coding, "data_coding"}, {&s_intermediate, "intermediate"},
        {&s_network_error, "network_error"}, {&s_legacy, "legacy"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].name);
        if (*names[i].slot == NULL)
            return NULL;
    }
    s_handle_frame = PyUnicode_InternFromString("_handle_frame");
    s_popleft = PyUnicode_InternFromString("popleft");
    s_command_id = PyUnicode_InternFromString("command_id");
    s_context = PyUnicode_InternFromString("context");
    if (!s_handle_frame || !s_popleft || !s_command_id || !s_context)
        return NULL;
    if (PyType_Ready(&SessionType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "SessionCore", (PyObject *)&SessionType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
