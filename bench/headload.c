/* HEAD requests under load, for bench/hub_metadata.py: wrk 4.1 and h2load wait for a body after a
 * HEAD answer that carries Content-Length, and ab speaks HTTP/1.0, which uvicorn does not keep alive.
 * One thread, epoll, C connections kept alive, one request in flight on each, like wrk -t1.
 *
 *   headload HOST PORT PATH CONNECTIONS SECONDS [HEADER]
 *
 * Prints: requests, requests/s, p50 and p99 in ms, answers that were not 2xx or 3xx, socket errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; double sent; char buf[8192]; size_t got; } conn;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int open_conn(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)addr, sizeof *addr) != 0) { close(fd); return -1; }
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: headload HOST PORT PATH CONNECTIONS SECONDS [HEADER]\n"); return 2; }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    int n = atoi(argv[4]);
    double seconds = atof(argv[5]);
    char req[4096];
    int len = snprintf(req, sizeof req, "HEAD %s HTTP/1.1\r\nHost: %s:%s\r\n%s%s\r\n", argv[3], argv[1], argv[2],
                       argc > 6 ? argv[6] : "", argc > 6 ? "\r\n" : "");
    size_t cap = 1 << 20, count = 0, bad = 0, errors = 0;
    double *lat = malloc(cap * sizeof *lat);
    conn *cs = calloc(n, sizeof *cs);
    int ep = epoll_create1(0);
    double start = now(), end = start + seconds;
    for (int i = 0; i < n; i++) {
        cs[i].fd = open_conn(&addr);
        if (cs[i].fd < 0) { fprintf(stderr, "cannot connect to %s:%s\n", argv[1], argv[2]); return 1; }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        cs[i].sent = now();
        if (write(cs[i].fd, req, len) != len) errors++;
    }
    struct epoll_event evs[256];
    while (now() < end) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int j = 0; j < k; j++) {
            conn *c = evs[j].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->got, sizeof c->buf - 1 - c->got);
            if (r <= 0) {  /* closed or failed: count it, reconnect, ask again */
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = open_conn(&addr);
                if (c->fd < 0) return 1;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                c->got = 0;
                c->sent = now();
                if (write(c->fd, req, len) != len) errors++;
                continue;
            }
            c->got += r;
            c->buf[c->got] = 0;
            if (!strstr(c->buf, "\r\n\r\n")) continue;  /* a HEAD answer ends with its header */
            double t = now();
            if (count == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
            lat[count++] = t - c->sent;
            if (c->got < 12 || (c->buf[9] != '2' && c->buf[9] != '3')) bad++;
            c->got = 0;
            c->sent = t;
            if (write(c->fd, req, len) != len) errors++;
        }
    }
    double took = now() - start;
    qsort(lat, count, sizeof *lat, cmp);
    printf("requests %zu\nrps %.1f\np50_ms %.3f\np99_ms %.3f\nnon2xx %zu\nerrors %zu\n", count, count / took,
           count ? 1000 * lat[count / 2] : 0.0, count ? 1000 * lat[(size_t)(count * 0.99)] : 0.0, bad, errors);
    return 0;
}
