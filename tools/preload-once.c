/* Preloaded last into lua5.4 by make test-asan (build/asan/lua/bin/lua5.4, see
 * tools/wrap-lua.sh): the sanitizers' runtimes stay in this process and go
 * no further, and UBSan writes its reports where UBSAN_OPTIONS says. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* The value of NAME= in a sanitizer options string ("a=1:log_path=/x"),
 * copied into buf, or NULL. */
static const char *option_value(const char *options, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	const char *p = options;

	while (p && *p) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t len = strcspn(p + n + 1, ": ");
			if (len >= size)
				return NULL;
			memcpy(buf, p + n + 1, len);
			buf[len] = '\0';
			return buf;
		}
		p = strpbrk(p, ": ");
		if (p)
			p++;
	}
	return NULL;
}

/* GCC's libubsan, loaded beside libasan, runs as its plugin with its own
 * report file, which nothing points at log_path: its reports would go to
 * stderr only, where a test that ignores them loses them. */
static void ubsan_report_path(const char *preload)
{
	char lib[4096], path[4096];
	const char *end, *start;
	void *ubsan;
	void (*set_report_path)(const char *);

	if (!option_value(getenv("UBSAN_OPTIONS"), "log_path", path, sizeof path))
		return;
	start = strstr(preload, "libubsan");
	if (!start)
		return;
	while (start > preload && start[-1] != ':' && start[-1] != ' ')
		start--;
	end = start + strcspn(start, ": ");
	if ((size_t)(end - start) >= sizeof lib)
		return;
	memcpy(lib, start, (size_t)(end - start));
	lib[end - start] = '\0';
	ubsan = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	if (!ubsan)
		return;
	*(void **)&set_report_path = dlsym(ubsan, "__sanitizer_set_report_path");
	if (set_report_path)
		set_report_path(path);
	dlclose(ubsan);
}

__attribute__((constructor)) static void preload_once(void)
{
	const char *preload = getenv("LD_PRELOAD");

	if (!preload)
		return;
	ubsan_report_path(preload);
	/* The loader has read it: lua5.4's children (sh, tar, python3, cc)
	 * start without the runtimes; a lua5.4 among them comes back through
	 * build/asan/lua/bin/lua5.4. */
	unsetenv("LD_PRELOAD");
}
