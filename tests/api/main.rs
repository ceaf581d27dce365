//! Alert delivery against a real tonic server on a temporary unix socket (or
//! TCP with TLS) with real tonic clients: filters, resume without duplicate
//! or hole (also across a SIGKILL of the server), slow-subscriber gaps,
//! TLS/mTLS, reload, malformed requests, the HTTP output against a local
//! HTTP server.

mod common;
mod grpc;
mod http_output;
mod restart;
mod tls;
