export const apiGroup = 'hypervisor.phoenix.io';
export const apiVersion = 'v1alpha1';
export const apiGroupVersion = `${apiGroup}/${apiVersion}`;
