/*
 * liblo-echo: liblo's side of scripts/bench. For each /led x (int32) it
 * receives on PORT, it sends /button x (int32) to DEST_HOST:DEST_PORT from
 * its listening socket (lo_send_from with the server). One blocking
 * lo_server_recv loop, no logging. It prints the port it listens on once
 * (PORT 0 lets liblo pick one) and runs until killed.
 *
 *   cc -O2 -o liblo-echo scripts/liblo-echo.c -llo
 *   ./liblo-echo 5005 127.0.0.1 5006
 */
#include <lo/lo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lo_server server;

static void on_error(int num, const char *msg, const char *where)
{
	fprintf(stderr, "liblo-echo: liblo error %d: %s (%s)\n", num, msg, where ? where : "");
}

static int on_led(const char *path, const char *types, lo_arg **argv, int argc,
		  lo_message msg, void *user_data)
{
	lo_address dest = user_data;
	(void)path; (void)types; (void)argc; (void)msg;
	lo_send_from(dest, server, LO_TT_IMMEDIATE, "/button", "i", argv[0]->i);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: liblo-echo PORT DEST_HOST DEST_PORT\n");
		return 2;
	}
	const char *port = strcmp(argv[1], "0") == 0 ? NULL : argv[1];
	server = lo_server_new_with_proto(port, LO_UDP, on_error);
	if (!server) {
		fprintf(stderr, "liblo-echo: cannot listen on UDP port %s\n", argv[1]);
		return 1;
	}
	lo_address dest = lo_address_new(argv[2], argv[3]);
	if (!dest) {
		fprintf(stderr, "liblo-echo: bad destination %s:%s\n", argv[2], argv[3]);
		return 1;
	}
	lo_server_add_method(server, "/led", "i", on_led, dest);
	printf("listening on port %d\n", lo_server_get_port(server));
	fflush(stdout);
	for (;;)
		lo_server_recv(server);
}
