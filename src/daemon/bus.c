/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "daemon/bus.h"
#include "daemon/figures.h"
#include "shared/log.h"
#include "daemon/manager.h"
#include "shared/abi.h"
#include "shared/macro.h"
#include "watch/watch.h"

static int append_entry(sd_bus_message *reply, const char *key, char type, const void *value)
{
	int r = sd_bus_message_open_container(reply, 'e', "sv");
	char sig[2] = { type, 0 };

	if (r >= 0)
		r = sd_bus_message_append_basic(reply, 's', key);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'v', sig);
	if (r >= 0)
		r = sd_bus_message_append_basic(reply, type, value);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

/* Root only, whatever the bus policy says. */
static int check_caller(sd_bus_message *m, sd_bus_error *error)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	uid_t uid;
	int r;

	r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
	if (r >= 0)
		r = sd_bus_creds_get_euid(creds, &uid);
	if (r < 0)
		return r;
	if (uid != 0)
		return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may query hived.");
	return 0;
}

static int method_status(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct manager_status st;
	int r;

	r = check_caller(m, error);
	if (r < 0 || sd_bus_error_is_set(error))
		return r;
	manager_get_status(userdata, &st);

	const struct {
		const char *key;
		const char *value;
	} strings[] = {
		{ "Version", HIVE_VERSION }, { "AttachMode", st.attach }, { "Role", st.role },
		{ "Node", st.node },	     { "KernelId", st.kernel_id },
	};

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(strings); i++)
		r = append_entry(reply, strings[i].key, 's', strings[i].value);
	/* The figures, as the metrics page has them (daemon/figures.c). */
	for (size_t i = 0; r >= 0 && i < n_figures; i++) {
		uint64_t t = figure_value(&figures[i], &st);
		int b = t != 0;

		if (figures[i].key)
			r = figures[i].kind == 'b' ? append_entry(reply, figures[i].key, 'b', &b) :
						     append_entry(reply, figures[i].key, 't', &t);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int append_watch(const struct watch_entry *e, void *userdata)
{
	sd_bus_message *reply = userdata;
	char dev[KERNEL_DEV_STRLEN];

	/* Watched files; a path with nothing there (only its name watched)
	 * is among the status's missing paths. */
	if (!e->has_file)
		return 0;
	kernel_dev_to_string(e->file.dev, dev);
	return sd_bus_message_append(reply, "(sssssssts)", e->key, e->path ? e->path : "",
				     e->policy ? e->policy : "", e->node ? e->node : "",
				     e->namespace ? e->namespace : "", e->pod ? e->pod : "",
				     e->container ? e->container : "", (uint64_t)e->file.ino, dev);
}

static int method_list_watches(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = check_caller(m, error);
	if (r < 0 || sd_bus_error_is_set(error))
		return r;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sssssssts)");
	if (r >= 0)
		r = watch_set_foreach(manager_get_watches(userdata), append_watch, reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable hive_vtable[] = {
	SD_BUS_VTABLE_START(0),
	/* UNPRIVILEGED only lets the call reach check_caller(); the bus
	 * policy has already refused non-root callers. */
	SD_BUS_METHOD("Status", "", "a{sv}", method_status, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("ListWatches", "", "a(sssssssts)", method_list_watches, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

static int on_name(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	uint32_t result = 0;

	if (!e) {
		/* 3: DBUS_REQUEST_NAME_REPLY_EXISTS (without queueing) */
		if (sd_bus_message_read(reply, "u", &result) >= 0 && result == 3)
			log_warning("Another hived owns %s on the system bus: hivectl will not reach this one.",
				    HIVE_BUS_NAME);
		return 0;
	}
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
		log_warning("The system bus does not let hived own %s (%s): hivectl will not reach this agent.",
			    HIVE_BUS_NAME, e->message ? e->message : e->name);
	else
		log_warning("Cannot own %s on the system bus (%s): hivectl will not reach this agent.", HIVE_BUS_NAME,
			    e->message ? e->message : e->name);
	return 0;
}

int bus_setup(struct manager *m, sd_event *event, sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = sd_bus_open_system(&bus);
	if (r < 0)
		return r;
	r = sd_bus_add_object_vtable(bus, NULL, HIVE_BUS_PATH, HIVE_BUS_INTERFACE, hive_vtable, m);
	if (r < 0)
		return r;
	/* Asynchronous: a bus that is slow to answer must not hold up READY. */
	r = sd_bus_request_name_async(bus, NULL, HIVE_BUS_NAME, 0, on_name, m);
	if (r < 0)
		return r;
	r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(bus);
	return 0;
}
