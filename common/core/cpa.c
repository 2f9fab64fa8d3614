/* See LICENSE file for copyright and license details. */
#include <stdio.h>

#include <jansson.h>

#include "qs/cpa.h"
#include "qs/err.h"

/* The resource metric i was gathered for, as CPA named it (borrowed). */
static const char *
resource_of(json_t *in, size_t i)
{
	json_t *r;

	r = json_object_get(json_array_get(json_object_get(in, "metrics"), i),
	    "resource");
	return json_is_string(r) ? json_string_value(r) : "?";
}

json_t *
qs_cpa_read(FILE *fp, const char *name, struct qs_err *err)
{
	json_error_t jerr;
	json_t *in, *recs;

	/* Flags 0: text after the one value is an error, not silently ignored. */
	in = json_loadf(fp, 0, &jerr);
	if (in == NULL) {
		if (ferror(fp))
			qs_err_sys(err, EX_IOERR, "cannot read %s", name);
		else
			qs_err_set(err, EX_DATAERR,
			    "invalid CPA input in %s: line %d column %d: %s",
			    name, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	recs = qs_cpa_records(in, name, err);
	json_decref(in);
	return recs;
}

json_t *
qs_cpa_records(json_t *in, const char *name, struct qs_err *err)
{
	json_error_t jerr;
	json_t *metrics, *m, *v, *rec, *recs;
	const char *s;
	size_t i;

	if (!json_is_object(in)) {
		qs_err_set(err, EX_DATAERR,
		    "invalid CPA input in %s: not a JSON object", name);
		return NULL;
	}
	metrics = json_object_get(in, "metrics");
	if (!json_is_array(metrics)) {
		qs_err_set(err, EX_DATAERR,
		    "invalid CPA input in %s: no metrics array", name);
		return NULL;
	}
	if (json_array_size(metrics) == 0) {
		qs_err_set(err, EX_DATAERR,
		    "invalid CPA input in %s: metrics is empty", name);
		return NULL;
	}
	recs = json_array();
	json_array_foreach(metrics, i, m) {
		v = json_object_get(m, "value");
		if (!json_is_string(v)) {
			qs_err_set(err, EX_DATAERR, "invalid CPA input in %s: "
			    "metric %zu (%s): value is not a string", name,
			    i + 1, resource_of(in, i));
			goto fail;
		}
		s = json_string_value(v);
		rec = json_loadb(s, json_string_length(v), 0, &jerr);
		if (rec == NULL) {
			qs_err_set(err, EX_DATAERR, "invalid CPA input in %s: "
			    "metric %zu (%s): value is not a record: %s", name,
			    i + 1, resource_of(in, i), jerr.text);
			goto fail;
		}
		if (!json_is_object(rec)) {
			json_decref(rec);
			qs_err_set(err, EX_DATAERR, "invalid CPA input in %s: "
			    "metric %zu (%s): value is not a JSON object", name,
			    i + 1, resource_of(in, i));
			goto fail;
		}
		json_array_append_new(recs, rec);
	}
	return recs;
fail:
	json_decref(recs);
	return NULL;
}

int
qs_cpa_write(FILE *fp, long replicas)
{
	return fprintf(fp, "{\"targetReplicas\":%ld}\n", replicas) < 0 ? -1 : 0;
}
