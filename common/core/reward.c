/* See LICENSE file for copyright and license details. */
#include <string.h>

#include <jansson.h>

#include "qs/learn.h"
#include "qs/num.h"

enum change {
	KEPT,
	INCREASED,
	DECREASED
};

static enum change
compare(double new, double old)
{
	if (new == old)
		return KEPT;
	return new > old ? INCREASED : DECREASED;
}

/*
 * The notebook's rule table, indexed by [pods][latency] change; it is
 * consulted only when the new latency keeps the side of the ideal that the
 * old one was on, since crossing it is always -20 (leaving) or +20
 * (entering).
 */
static const int within[3][3] = {
	[KEPT] = { 10, 10, 10 },
	[INCREASED] = { [KEPT] = -10, [INCREASED] = 0, [DECREASED] = -20 },
	[DECREASED] = { 20, 20, 20 },
};

static const int outside[3][3] = {
	[KEPT] = { [KEPT] = -20, [INCREASED] = -20, [DECREASED] = -10 },
	[INCREASED] = { [KEPT] = 0, [INCREASED] = 0, [DECREASED] = 10 },
	[DECREASED] = { [KEPT] = -10, [INCREASED] = -20, [DECREASED] = 0 },
};

int
qs_reward_notebook(double ideal, long pod, long action, double latency,
    double new_latency)
{
	enum change pods = compare((double)action, (double)pod);
	enum change lat = compare(new_latency, latency);
	int was_ideal = latency <= ideal, is_ideal = new_latency <= ideal;

	if (was_ideal)
		return is_ideal ? within[pods][lat] : -20;
	return is_ideal ? 20 : outside[pods][lat];
}

int
qs_reward_rule_parse(const char *s, enum qs_reward_rule *rule)
{
	if (strcmp(s, "notebook") == 0)
		*rule = QS_REWARD_NOTEBOOK;
	else if (strcmp(s, "cost") == 0)
		*rule = QS_REWARD_COST;
	else
		return -1;
	return 0;
}

int
qs_reward_cost_parse(const char *s, struct qs_reward_cost *c)
{
	double w[3];
	char buf[128], *p, *next;
	int i;

	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	for (i = 0, p = buf; i < 3; i++, p = next) {
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		if (qs_num_parse(p, &w[i]) != 0 || w[i] < 0 || (next == NULL) != (i == 2))
			return -1;
	}
	c->w_perf = w[0];
	c->w_res = w[1];
	c->w_adp = w[2];
	return 0;
}

double
qs_reward_cost(const struct qs_reward_cost *c, double ideal, long pod,
    long action, double new_latency)
{
	double cost = 0;

	if (new_latency > ideal)
		cost += c->w_perf;
	if (c->max_replicas > 0)
		cost += c->w_res * (double)action / (double)c->max_replicas;
	if (action != pod)
		cost += c->w_adp;
	return -cost;
}

void
qs_reward_defaults(struct qs_reward *r)
{
	r->rule = QS_REWARD_NOTEBOOK;
	r->ideal = QS_IDEAL_LATENCY;
	r->cost.w_perf = QS_REWARD_W_PERF;
	r->cost.w_res = QS_REWARD_W_RES;
	r->cost.w_adp = QS_REWARD_W_ADP;
	r->cost.max_replicas = 0;
}

double
qs_reward_compute(const struct qs_reward *r, long pod, long action,
    double latency, double new_latency)
{
	if (r->rule == QS_REWARD_COST)
		return qs_reward_cost(&r->cost, r->ideal, pod, action, new_latency);
	return qs_reward_notebook(r->ideal, pod, action, latency, new_latency);
}

json_t *
qs_reward_json(const struct qs_reward *r, double v)
{
	if (r->rule == QS_REWARD_COST)
		return json_real(v);
	return json_integer((json_int_t)v);
}
