/*
 * fuzz_docker_json.c: libFuzzer target for what labsup does with bytes
 * from the Docker Engine: the response sink, the progress stream of
 * /images/create, /version (API negotiation), /containers/{id}/stats and
 * the error messages made from any reply.  engine.c is included so its
 * static response sink is reached the way libcurl reaches it.
 */
#include "../../docker/engine.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine e;
	struct engine_stats st, prev;
	json_error_t jerr;
	json_t *j;
	const char *m;
	char ver[16], err[256], msg[512], repo[128], tag[64];
	size_t half = size / 2;

	memset(&e, 0, sizeof(e));
	e.status = size > 0 ? 200 + data[0] % 300 : 500;
	/* the body arrives in two pieces, as it may from libcurl */
	if (engine_sink((char *)data, 1, half, &e) != half ||
	    engine_sink((char *)data + half, 1, size - half, &e) != size - half)
		abort();
	if (e.len != size || (e.buf != NULL && e.buf[e.len] != '\0'))
		abort();

	m = engine_stream_error(e.buf ? e.buf : "", e.len);
	if (m != NULL && strchr(m, '\n') != NULL)
		abort();

	j = json_loadb((const char *)data, size, 0, &jerr);
	if (engine_api_pick(j, ver, sizeof(ver), err, sizeof(err)) == 0 &&
	    engine_api_num(ver) < engine_api_num(ENGINE_API_MIN))
		abort();
	if (engine_stats_parse(j, &st) == 0) {
		if (st.online_cpus <= 0)
			abort();
		memset(&prev, 0, sizeof(prev));
		prev.cpu_system = 1;
		(void)engine_cpu_pct(&prev, &st);
		(void)engine_cpu_pct(&st, &st);
	}
	engine_errmsg(&e, j, "container labsup-fuzz-pub", msg, sizeof(msg));
	if (strchr(msg, '\n') != NULL || strchr(msg, '\r') != NULL)
		abort();
	json_decref(j);

	/* the same bytes as an image name and a query parameter */
	if (e.buf != NULL && strlen(e.buf) == e.len) {
		engine_split_image(e.buf, repo, sizeof(repo), tag, sizeof(tag));
		(void)engine_escape(e.buf, msg, sizeof(msg));
		(void)engine_api_num(e.buf);
	}
	free(e.buf);
	return 0;
}
