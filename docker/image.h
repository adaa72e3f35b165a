/*
 * image.h: the offline images (labsup image build): PostgreSQL and InfluxDB
 * images made from the host's installed binaries, with no registry.
 */
#ifndef LABSUP_IMAGE_H
#define LABSUP_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/config.h"
#include "engine.h"

enum image_kind { IMAGE_POSTGRES = 0, IMAGE_INFLUXDB, IMAGE_MAX };

/* Inside the images: who runs the server, and where its files are. */
#define IMAGE_PG_UID 999
#define IMAGE_PG_GID 999
#define IMAGE_INFLUX_UID 998
#define IMAGE_INFLUX_GID 998
#define IMAGE_PG_DATA "/var/lib/postgresql/data"
#define IMAGE_INFLUX_DATA "/var/lib/influxdb"
#define IMAGE_SECRETS "/run/labsup"	/* 0700, owned by the server user */
/*
 * issue 18: the in-server probe in the PostgreSQL image, when labsup had
 * one to put in (the label says so, with the segment layout's version),
 * and where the lab's probe directory (shm/probe.h) is mounted.
 */
#define IMAGE_PROBE_SO "/usr/lib/labsup/labsup_probe.so"
#define IMAGE_PROBE_DIR "/run/labsup-probe"
#define IMAGE_LABEL_PROBE "labsup.probe"

/* The image name cfg gives for kind. */
const char *image_name(const struct config *cfg, int kind);
/* True when image is one labsup builds (a labsup/... name): never pulled. */
bool image_is_local(const char *image);
/* True when the engine has image. */
bool image_present(struct engine *e, const char *image);
/* True when image carries the probe of this labsup's segment layout. */
bool image_has_probe(struct engine *e, const char *image);
/* Build kind's image from host binaries; 0, or -1 with a reason in err. */
int image_build(struct engine *e, const struct config *cfg, int kind,
    char *err, size_t errlen);

#endif
