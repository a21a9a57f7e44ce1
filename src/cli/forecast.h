/* forecast.h - `evercert forecast`: the CA's request load from a fleet, offline (see
 * picture/forecast.h for the model). Single-threaded, like the rest of the CLI. */
#ifndef EVERCERT_CLI_FORECAST_H
#define EVERCERT_CLI_FORECAST_H

/* argv[0] is "forecast"; returns the process exit status. */
int cli_forecast(int argc, char **argv);

#endif
