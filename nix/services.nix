# The backing services for development: `plinth-dev-services` (on the dev shell's PATH, or
# `nix run .#dev-services`) starts PostgreSQL, Redis, RabbitMQ and MinIO under ./.dev, bound to 127.0.0.1,
# and prints the variables that point Plinth at them. The script itself is ./dev-services.sh.
{ pkgs }:

rec {
  # The servers and their clients; the dev shell puts the same set on PATH.
  tools = [
    pkgs.postgresql_16
    pkgs.redis
    pkgs.rabbitmq-server
    pkgs.minio
    pkgs.minio-client
  ];

  script = pkgs.writeShellApplication {
    name = "plinth-dev-services";
    runtimeInputs = tools ++ [ pkgs.coreutils pkgs.curl ];
    text = builtins.readFile ./dev-services.sh;
  };
}
