# The OCI image: `nix build .#image`, then `docker load < result` (or `podman load`).
#
# buildLayeredImage puts each store path of the contents' closure in a layer of its own, so the image holds
# exactly the runtime closure of the package (Node.js, the bundle and its production node_modules) and
# nothing else: no shell, no package manager, no build tools.
{ pkgs, plinth, nodejs }:

let
  uid = "1000";
  gid = "1000";

  # getpwuid must find the server's user, and the CA bundle lets Node verify TLS to managed services.
  nss = pkgs.fakeNss.override {
    extraPasswdLines = [ "plinth:x:${uid}:${gid}:plinth:/data:/noshell" ];
    extraGroupLines = [ "plinth:x:${gid}:" ];
  };

  # The same check as the Dockerfile's HEALTHCHECK, in Node because the image has no wget or curl.
  healthcheck = ''
    fetch("http://127.0.0.1:" + (process.env.PORT || 3000) + "/health/live").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))
  '';
  seconds = n: n * 1000000000;
in
pkgs.dockerTools.buildLayeredImage {
  name = "plinth";
  tag = plinth.version;

  contents = [ plinth nss pkgs.dockerTools.caCertificates ];

  # The embedded backends write under DATA_DIR; nothing else in the image is writable by the server.
  fakeRootCommands = ''
    mkdir -p ./data ./tmp
    chown ${uid}:${gid} ./data
    chmod 1777 ./tmp
  '';

  config = {
    Cmd = [ (pkgs.lib.getExe plinth) ];
    User = "${uid}:${gid}";
    WorkingDir = "/data";
    Env = [
      "NODE_ENV=production"
      "PORT=3000"
      "HOST=0.0.0.0"
      "DATA_DIR=/data"
      "LOG_FORMAT=json"
    ];
    ExposedPorts = { "3000/tcp" = { }; };
    Volumes = { "/data" = { }; };
    StopSignal = "SIGTERM";
    Healthcheck = {
      Test = [ "CMD" "${nodejs}/bin/node" "-e" healthcheck ];
      Interval = seconds 30;
      Timeout = seconds 3;
      StartPeriod = seconds 20;
      Retries = 3;
    };
    Labels = {
      "org.opencontainers.image.title" = "plinth";
      "org.opencontainers.image.description" = plinth.meta.description;
      "org.opencontainers.image.version" = plinth.version;
      "org.opencontainers.image.licenses" = "MIT";
    };
  };
}
