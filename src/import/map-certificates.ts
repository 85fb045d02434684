import type { ImportContext } from './context.ts';
import { legacyFiles } from './legacy-model.ts';
import { pointer } from './pointer.ts';

/**
 * certificate-manifest.json: certificates the legacy Step-CA issued and a cron job on the host
 * renewed every hour. Phoenix issues no certificates, so each one is listed for a person.
 */
export function mapCertificates(ctx: ImportContext): void {
  for (const [i, cert] of (ctx.estate.certificates ?? []).entries()) {
    const names = [cert.common_name, ...(cert.sans ?? []).filter((s) => s !== cert.common_name)];
    const guest = cert.guest_id !== undefined ? ` for ${cert.guest_type ?? 'guest'} ${cert.guest_id}` : '';
    ctx.report.hostSetup(
      legacyFiles.certificates,
      pointer(i),
      `certificate ${names.join(', ')}${guest}, issued by the legacy Step-CA and renewed hourly on the host by certificate-renewal-manager.sh (cron): Phoenix does not issue certificates`,
      `keep /etc/cron.d/phoenix-cert-renewal running, or issue it with cert-manager (ACME against the Step-CA); ${cert.cert_path ? `it is written to ${cert.cert_path}` : 'its paths are in the manifest'}${cert.post_renewal_command ? `, then the host runs: ${cert.post_renewal_command}` : ''}`,
    );
  }
}
