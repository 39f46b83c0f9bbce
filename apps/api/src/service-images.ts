import { SERVICE_TYPES, type ServiceType, serviceEngine } from '@pier/core';

/**
 * The image of each engine's new services, read from the setting its
 * `SERVICE_ENGINES` entry names (PIER_IMAGE_POSTGRES, PIER_IMAGE_REDIS): an
 * engine whose setting the config lacks stops the api at start, naming it.
 */
export function serviceImagesFrom(config: Readonly<Record<string, unknown>>): Record<ServiceType, string> {
  const images = SERVICE_TYPES.map((type) => {
    const setting = serviceEngine(type).imageSetting;
    const image = config[setting];
    if (typeof image !== 'string' || image === '')
      throw new Error(`${setting} is not set: the image of managed ${type} services`);
    return [type, image] as const;
  });
  return Object.fromEntries(images) as Record<ServiceType, string>;
}
