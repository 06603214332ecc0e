/*
 * client_cert.h - mutual TLS: the DeviceId a client certificate names.
 *
 * libmicrohttpd only asks for a client certificate (--client-ca makes it
 * send the CA as the acceptable issuer); whether the certificate is valid
 * is checked here, per request, with GnuTLS against that CA: chain,
 * signature, validity period.  The DeviceId is the subject's CN, or when
 * the CN is not a valid DeviceId, the first DNS name of the certificate
 * that is.
 */
#ifndef RMMHUNT_COLLECTOR_CLIENT_CERT_H
#define RMMHUNT_COLLECTOR_CLIENT_CERT_H

#include <stddef.h>

#include <gnutls/gnutls.h>

#include "wire/batch_reader.h"

/*
 * 0 with device_id filled, -ENOENT when the client sent no certificate,
 * -EACCES when the certificate is not valid (message says why).
 */
int client_cert_device(gnutls_session_t session, char device_id[BATCH_ID_MAX + 1],
		       char *message, size_t message_size);

#endif
