/* test_regress.c - replays every input under tests/regress/<target>/ (crash
 * inputs found by fuzzing) and fuzz/corpus/<target>/ (the seed corpora)
 * through the same entry points as the fuzz targets (fuzz/entry.h), for
 * the library's readers: model, model_crc, csv, csv_cat, idx, onnx, fann, npy. Each input must come
 * back with LM_OK or a failure status carrying a message, and keep every
 * property the entry point checks. A memory error shows up under
 * `make SAN=1 test` and tools/valgrind.sh. The CLI parsers' inputs
 * (tests/regress/spec, opts) are replayed by fuzz/run.sh, which links the
 * CLI sources. */
#include "../fuzz/entry.h" /* first: it asks for memfd_create */

#include "harness.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The repository root: this file's path as the compiler saw it
 * ("tests/test_regress.c" under make, which runs tests from the root)
 * without its last two components. */
static void root_dir(char *buf, size_t size)
{
    snprintf(buf, size, "%s", __FILE__);
    for (int k = 0; k < 2; k++) {
        char *slash = strrchr(buf, '/');
        if (slash) *slash = '\0';
        else snprintf(buf, size, k ? "." : "..");
        if (!slash) break;
    }
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return b;
}

/* The folder being read: a forked child closes its copy before exiting,
 * so valgrind does not count it as the child's leak. */
static DIR *cur_dir;

/* Runs fn on the file at path in a child process, so an input that
 * crashes is reported by name and the others still run. Returns NULL if
 * the input ran clean, else why not (in a static buffer). */
static const char *run_isolated(int (*fn)(const uint8_t *, size_t), const char *path)
{
    static char why[512];
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        close(fds[0]);
        if (cur_dir) closedir(cur_dir);
        size_t len = 0;
        unsigned char *b = slurp(path, &len);
        lm__err_clear();
        int rc = b ? fn(b, len) : -1;
        free(b); /* before exit: the leak checks run there */
        char msg[512] = "";
        if (rc == -1)
            snprintf(msg, sizeof msg, "cannot read the file");
        else if (rc == FZ_BROKEN)
            snprintf(msg, sizeof msg, "%s", fz_why);
        else if (!fz_clean_status(rc))
            snprintf(msg, sizeof msg, "status %d (%s) with message '%s'", rc,
                     rc >= 0 && rc < 7 ? lm_status_name((lm_status)rc) : "?", lm_errmsg());
        if (write(fds[1], msg, strlen(msg)) < 0) msg[0] = 'x';
        /* exit, not _exit: LeakSanitizer and valgrind check for leaks at
         * exit and turn the status non-zero (stdout was flushed above). */
        exit(msg[0] ? 1 : 0);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], why, sizeof why - 1);
    why[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (WIFSIGNALED(ws)) {
        snprintf(why, sizeof why, "crashed with signal %d", WTERMSIG(ws));
        return why;
    }
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return NULL;
    if (!why[0])
        snprintf(why, sizeof why, "exited with status %d (a leak or memory error under a sanitizer or valgrind?)",
                 WEXITSTATUS(ws));
    return why;
}

/* Runs fn over every regular file in dir; returns how many ran, -1 if
 * the folder is missing. */
static int replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t))
{
    DIR *d = cur_dir = opendir(dir);
    if (!d) return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        const char *why = run_isolated(fn, path);
        if (why) {
            /* every bad input gets its own line; the case fails once */
            printf("  %s: %s\n", path, why);
            CHECKF(0, "%s: %s", path, why);
        }
        count++;
    }
    closedir(d);
    cur_dir = NULL;
    return count;
}

static void replay(const char *target, int (*fn)(const uint8_t *, size_t))
{
    char root[1024], dir[1100];
    root_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/tests/regress/%s", root, target);
    int a = replay_dir(dir, fn);
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", root, target);
    int b = replay_dir(dir, fn);
    /* The seed corpus is committed: finding nothing means a wrong path. */
    CHECKF(b > 0, "no inputs found in %s (run from the repository root)", dir);
    (void)a;
}

static void regress_model(void) { replay("model", fz_model); }
static void regress_model_crc(void) { replay("model_crc", fz_model_crc); }
static void regress_csv(void) { replay("csv", fz_csv); }
static void regress_csv_cat(void) { replay("csv_cat", fz_csv_cat); }
static void regress_idx(void) { replay("idx", fz_idx); }
static void regress_onnx(void) { replay("onnx", fz_onnx); }
static void regress_fann(void) { replay("fann", fz_fann); }
static void regress_npy(void) { replay("npy", fz_npy); }

/* The harness itself must be able to fail: a valid model with its CRC
 * fixed loads, and the same bytes cut short are refused with a message. */
static void harness_sees_failures(void)
{
    lm_net *net = NULL;
    CHECK_OK(lm_net_new(&net, 2));
    CHECK_OK(lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS));
    unsigned char *buf = NULL;
    size_t len = 0;
    CHECK_OK(lm__model_encode(net, NULL, &buf, &len));
    lm_net_free(net);
    if (!buf) return;
    CHECK(fz_model(buf, len) == LM_OK);
    CHECK(fz_model_crc(buf, len) == LM_OK);
    int rc = fz_model(buf, len - 5);
    CHECK(rc == LM_EFORMAT && fz_clean_status(rc));
    free(buf);
    CHECK(fz_csv((const uint8_t *)"\0a,b\n1,2\n3,4\n", 13) == LM_OK);
    rc = fz_csv((const uint8_t *)"\0a,b\n1,2\nq,3\n", 13); /* q: not a number */
    CHECK(rc == LM_EFORMAT && fz_clean_status(rc));
}

/* Whatever lm_net_save accepts, lm_net_load must read back: a writer that
 * saves what its reader refuses turns a good run into a lost model. Each
 * net here is either refused by the save (the old file stays) or loads. */
static void save_accepts_only_loadable(void)
{
    char path[] = "/tmp/lamina-regress-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    for (int c = 0; c < 3; c++) {
        lm_net *net = NULL, *back = NULL;
        CHECK_OK(lm_net_new(&net, 3));
        if (!net) return;
        static char big[(2 << 20) + 1];
        if (c != 0) CHECK_OK(lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS)); /* c 0: no layers */
        if (c == 1) {
            memset(big, 'a', sizeof big - 1); /* a 2 MiB metadata value */
            /* refused up front (over the string limit) or saved loadably */
            if (lm_net_set_meta(net, "notes", big) != LM_OK) CHECK(strstr(lm_errmsg(), "longer"));
        }
        if (c == 2) lm_net_params(net)[0] = INFINITY;
        lm_status saved = lm_net_save(net, path);
        if (saved == LM_OK) {
            lm_status st = lm_net_load(&back, path);
            CHECKF(st == LM_OK, "case %d: lm_net_save wrote a file lm_net_load refuses: %s", c, lm_errmsg());
        }
        lm_net_free(back);
        lm_net_free(net);
    }
    unlink(path);
}

int main(void)
{
    RUN(harness_sees_failures);
    RUN(regress_model);
    RUN(regress_model_crc);
    RUN(regress_csv);
    RUN(regress_csv_cat);
    RUN(regress_idx);
    RUN(regress_onnx);
    RUN(regress_fann);
    RUN(regress_npy);
    RUN(save_accepts_only_loadable);
    TEST_MAIN_END();
}
