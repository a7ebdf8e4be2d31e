// Keepalive of stack sockets: the slow path sends the probes; the shim tells it what the app set
// (SO_KEEPALIVE, TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT) once the socket has a flow.
#pragma once

namespace virtuoso::shim {

class Context;
struct Socket;

// Queues kKeepalive with the socket's options, sent once the stack lock is released. Nothing for
// a socket without a live flow of this process: its options go out when it gets one.
void defer_keepalive(Context& c, const Socket& s);

// A connection was just established: only if the app switched keepalive on before.
void keepalive_on_open(Context& c, const Socket& s);

// accept(): the connection takes the listener's keepalive options, as Linux's accepted sockets do.
void inherit_keepalive(Context& c, const Socket& listener, Socket& child);

}  // namespace virtuoso::shim
